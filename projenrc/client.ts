import type { awscdk } from 'projen';

/** Where the client package lives, relative to the repository root. */
const CLIENT_DIR = 'packages/client';

/**
 * Wires in `cdk-websocket-chat-client`, the browser/Node client of the chat protocol. It is its own npm package
 * in packages/client (built by esbuild + tsc, never part of the jsii compile), so this adds:
 * - the `client:build` task (ESM + CommonJS + declarations, and the 8 KB gzip budget), spawned by `test`;
 * - its sources to the dev tsconfig (typecheck, eslint) and to the eslint patterns;
 * - its build output to .gitignore, and the whole of packages/ to the jsii package's .npmignore.
 */
export function addClientPackage(project: awscdk.AwsCdkConstructLibrary): void {
  const build = project.addTask('client:build', {
    description: `Build ${CLIENT_DIR} (dist/index.mjs, index.cjs, index.d.ts) and check its gzip size budget`,
    exec: `node ${CLIENT_DIR}/scripts/build.js`,
  });
  project.testTask.prependSpawn(build);

  project.tsconfigDev.addInclude(`${CLIENT_DIR}/src/**/*.ts`);
  project.eslint?.addLintPattern(`${CLIENT_DIR}/src`);

  project.gitignore.exclude(`/${CLIENT_DIR}/dist/`);
  project.npmignore?.exclude('/packages/');
}
