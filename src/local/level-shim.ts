import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * Stands in for the package `level` inside the CLI bundle (esbuild `--alias:level=…`). dynalite uses `level` only
 * for `--persist` (LevelDB on disk, through the native package `classic-level`); in memory it uses `memory-level`,
 * plain JavaScript that is bundled. So the published package carries no native binaries: `classic-level` is loaded
 * when `--persist` asks for it, from the user's project (or next to the package), and its absence is said plainly.
 */

export const PERSIST_NEEDS_CLASSIC_LEVEL = '--persist needs the optional package classic-level: npm install classic-level';

type LevelConstructor = new (location: string, options?: Record<string, unknown>) => unknown;

/** `classic-level`'s `ClassicLevel`, from beside this bundle or from the current directory's project. */
export function loadClassicLevel(): LevelConstructor {
  const loaders = [
    // Resolved from the bundle's location: node_modules above the installed package (or the repository's).
    // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies -- optional, --persist only
    () => require('classic-level') as { ClassicLevel: LevelConstructor },
    // From the project the command runs in (e.g. `npx` from a temporary install).
    () => createRequire(path.join(process.cwd(), 'package.json'))('classic-level') as { ClassicLevel: LevelConstructor },
  ];
  for (const load of loaders) {
    try {
      return load().ClassicLevel;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  throw new Error(PERSIST_NEEDS_CLASSIC_LEVEL);
}

/** `new Level(location, options)` as dynalite calls it: a `ClassicLevel` on disk. */
export const Level = function persistentLevel(location: string, options?: Record<string, unknown>) {
  const ClassicLevel = loadClassicLevel();
  return new ClassicLevel(location, options);
} as unknown as LevelConstructor;
