import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The app's own `node_modules` directories, where the app's handlers find what Lambda's Node.js runtime provides
 * (`@aws-sdk/*`, which app bundles usually leave out): from the directory above the cloud assembly up to the root,
 * as Node.js looks them up. The gateway never ships the SDK for them: a handler that needs it runs locally once the
 * app has it installed (a devDependency).
 */
export function appNodeModules(assemblyDir: string): string[] {
  const dirs: string[] = [];
  let dir = path.dirname(path.resolve(assemblyDir));
  for (;;) {
    const candidate = path.join(dir, 'node_modules');
    if (existsSync(candidate)) dirs.push(candidate);
    const parent = path.dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}
