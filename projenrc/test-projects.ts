import type { awscdk } from 'projen';

/**
 * The tests, split into three jest projects that `npm test` runs together (and CI too):
 * - `unit`: the construct, the handlers against dynalite and a real HTTP `@connections` server, the client against
 *   its scripted server, and the local gateway's parts one by one;
 * - `local`: end to end through a running local gateway (real sockets, the shipped bundles, the CLI);
 * - `browser`: the chat page in headless Chromium.
 * `npm run test:unit` / `test:local` / `test:browser` run one of them; `test:node24` runs the handler and local
 * gateway suites again on Node 24, the runtime the handlers are deployed on.
 */

/** Files that start a local gateway (or the CLI): the `local` project. Everything else but the browser is `unit`. */
const LOCAL = [
  '<rootDir>/test/local/e2e-*.test.ts',
  '<rootDir>/test/local/gateway*.test.ts',
  '<rootDir>/test/local/{burst,cli,invoke-api,local-auth,web}.test.ts',
  '<rootDir>/test/local/app/{cli-app,run-app}.test.ts',
  '<rootDir>/test/client/e2e-*.test.ts',
];
const BROWSER = ['<rootDir>/test/local/browser*.test.ts'];

export function splitTestProjects(project: awscdk.AwsCdkConstructLibrary): void {
  const jest = project.jest;
  if (!jest) throw new Error('jest is not configured');
  const config = jest.config as Record<string, unknown>;
  // What every project needs (jest does not pass these down from the root config to its projects).
  const common = {
    transform: config.transform,
    transformIgnorePatterns: config.transformIgnorePatterns,
    moduleNameMapper: config.moduleNameMapper,
    testTimeout: config.testTimeout,
    clearMocks: true,
    testPathIgnorePatterns: ['/node_modules/'],
  };
  const pkg = project.tryFindObjectFile('package.json');
  pkg?.addOverride('jest.projects', [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, ...[...LOCAL, ...BROWSER].map(globToPathPattern)],
    },
    { ...common, displayName: 'local', testMatch: LOCAL },
    { ...common, displayName: 'browser', testMatch: BROWSER },
  ]);
  // The root test patterns are not used once there are projects.
  pkg?.addDeletionOverride('jest.testMatch');
  // One worker per core (jest's default leaves one core idle: on a 2-core machine, half the speed).
  pkg?.addOverride('jest.maxWorkers', '100%');

  for (const name of ['unit', 'local', 'browser']) {
    project.addTask(`test:${name}`, {
      description: `Run the ${name} tests only`,
      exec: `jest --selectProjects ${name} --coverage=false`,
      receiveArgs: true,
    });
  }
  project.addTask('test:node24', {
    description: 'Run the handler and local-gateway suites on Node 24 (Lambda\'s nodejs24.x), installed from the npm registry',
    exec: 'scripts/with-node24.sh node_modules/.bin/jest --selectProjects unit local --coverage=false test/handlers test/local',
    receiveArgs: true,
  });
}

/** A testMatch glob as a testPathIgnorePatterns regular expression (`*` and `{a,b}` only). */
function globToPathPattern(glob: string): string {
  return glob
    .replace('<rootDir>/', '/')
    .replace(/[.]/g, '\\.')
    .replace(/\{([^}]*)\}/g, (_m, alts: string) => `(${alts.split(',').join('|')})`)
    .replace(/\*/g, '[^/]*') + '$';
}
