import { awscdk, javascript, typescript } from 'projen';
import { addClientPackage } from './projenrc/client';
import { splitTestProjects } from './projenrc/test-projects';

/** Runtime code bundled by esbuild: never part of the jsii (CommonJS) compile. */
const RUNTIME_SOURCES = [
  'src/handlers/**/*.lambda.ts',
  'src/handlers/lib/**/*.ts',
  'src/handlers/runtime/**/*.ts',
  'src/local/**/*.ts',
];

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-websocket-chat',
  description:
    'AWS CDK L3 construct: a production-grade serverless WebSocket chat / push backend (API Gateway WebSocket API, ' +
    'DynamoDB connections table, JWT-authorized Lambda handlers, alarms) with a local gateway for development.',
  author: 'cdk-websocket-chat contributors',
  authorAddress: 'maintainers@cdk-websocket-chat.dev',
  repositoryUrl: 'https://github.com/cdk-websocket-chat/cdk-websocket-chat.git',
  license: 'Apache-2.0',
  keywords: ['cdk', 'awscdk', 'websocket', 'chat', 'apigateway', 'dynamodb', 'lambda', 'jwt', 'realtime'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  cdkVersion: '2.257.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  minNodeVersion: '20.0.0',
  github: false,
  release: false,
  depsUpgrade: false,
  pullRequestTemplate: false,

  // jsii targets (packaging for these runs where their toolchains are available; see README).
  publishToPypi: { distName: 'cdk-websocket-chat', module: 'cdk_websocket_chat' },
  publishToMaven: {
    javaPackage: 'io.github.cdkwebsocketchat',
    mavenGroupId: 'io.github.cdk-websocket-chat',
    mavenArtifactId: 'cdk-websocket-chat',
  },
  publishToNuget: { dotNetNamespace: 'CdkWebSocketChat', packageId: 'CdkWebSocketChat' },
  publishToGo: { moduleName: 'github.com/cdk-websocket-chat/cdk-websocket-chat-go' },

  // The dev tsconfig sits at the top level, as the design card asks.
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    compilerOptions: {
      // jose v6 is ESM-only; runtime code is bundled by esbuild, so it is type-checked as a bundler would see it.
      module: 'preserve',
      moduleResolution: javascript.TypeScriptModuleResolution.BUNDLER,
      lib: ['es2022', 'dom'],
    },
    include: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', '.projenrc.ts'],
  },
  excludeTypescript: RUNTIME_SOURCES,

  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    // The AWS SDK is bundled (not taken from the Lambda runtime): pinned versions, and the local gateway
    // runs the very same files from an installed package. See BENCHMARKS.md for the cold-start data.
    // (`minify` is an esbuild option that projen's LambdaFunction passes through to the bundle.)
    // ES modules of the SDK (`module` first: the SDK team's advice, it tree-shakes), and Lambda's credentials from
    // the environment only: the default provider chain's SSO/STS/OIDC clients are dead weight in a Lambda.
    bundlingOptions: {
      externals: [],
      sourcemap: false,
      minify: true,
      mainFields: ['module', 'main'],
      esbuildArgs: { '--alias:@aws-sdk/credential-provider-node': './src/handlers/runtime/env-credentials.ts' },
    } as Partial<javascript.AddBundleOptions>,
  },

  devDeps: [
    // The local gateway's embedded DynamoDB and WebSocket server: bundled into its CLI (no runtime dependencies).
    'dynalite@^4.0.0',
    'ws@^8.18.0',
    '@aws-sdk/client-apigatewaymanagementapi@^3',
    '@aws-sdk/client-dynamodb@^3',
    // The local gateway's Lambda Invoke API is tested with the real SDK client.
    '@aws-sdk/client-lambda@^3',
    '@aws-sdk/client-secrets-manager@^3',
    '@aws-sdk/credential-provider-env@^3',
    '@smithy/signature-v4@^5',
    '@types/aws-lambda@^8',
    '@types/ws@^8',
    'aws-sdk-client-mock@^4',
    'cdk-nag@^3.0.2',
    'esbuild@^0.25',
    'jose@^6',
    // The local gateway's chat page is tested in headless Chromium (the Debian package; no browser download).
    'playwright-core@^1',
  ],

  tsJestOptions: {
    // jose v6 ships ESM only: ts-jest also turns it into CommonJS for jest's module system.
    transformPattern: '^.+\\.[tj]sx?$',
    transformOptions: {
      tsconfig: typescript.TsJestTsconfig.custom({
        module: 'commonjs',
        moduleResolution: javascript.TypeScriptModuleResolution.BUNDLER,
        target: 'ES2022',
        lib: ['es2022', 'dom'],
        allowJs: true,
        esModuleInterop: true,
        isolatedModules: true,
        skipLibCheck: true,
        types: ['jest', 'node'],
      }),
    },
  },
  jestOptions: {
    jestConfig: {
      testTimeout: 60_000,
      // jose v6 ships ESM only: let ts-jest turn it into CommonJS for the tests.
      transformIgnorePatterns: ['/node_modules/(?!jose/)'],
      coveragePathIgnorePatterns: ['/node_modules/', '/assets/'],
    },
  },

  gitignore: ['/bench/tmp/', '/.local-data/', '/.cache/', '*.tgz'],
  npmignoreEnabled: true,
});

// The eslint project service must use the top-level dev tsconfig.
// Runtime code is bundled, so it may import devDependencies.
for (const pattern of RUNTIME_SOURCES) project.eslint?.allowDevDeps(pattern);
const eslintrc = project.tryFindObjectFile('.eslintrc.json');
// (The project service only finds files named tsconfig.json, so name the dev tsconfig explicitly.)
eslintrc?.addDeletionOverride('parserOptions.projectService');
eslintrc?.addOverride('parserOptions.project', './tsconfig.dev.json');
eslintrc?.addOverride('settings.import/resolver.typescript.project', './tsconfig.dev.json');

// The local gateway (README, "The local gateway"): bundled by esbuild into assets/, shipped as a bin, self-contained: dynalite and ws
// are inside the bundle, and the package carries no native binaries (scripts/bundle-local-cli.mjs says how).
const localGateway = project.bundler.addBundle('src/local/cli.ts', {
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  banner: '#!/usr/bin/env node',
  executable: true,
  watchTask: false,
});
localGateway.bundleTask.reset('node scripts/bundle-local-cli.mjs');
localGateway.bundleTask.exec(`chmod +x ${localGateway.outfile}`);
project.addBins({ 'cdk-websocket-chat-local': localGateway.outfile });
project.addTask('dev', {
  description: 'Start the local chat gateway (embedded DynamoDB + the shipped handler bundles)',
  steps: [{ spawn: 'bundle' }, { exec: `node ${localGateway.outfile}`, receiveArgs: true }],
});

// The local gateway's burst scenarios at full size (test/support/burst.ts; `npm test` runs them scaled down).
project.addTask('burst', {
  description: 'Local gateway bursts at full size on the real handlers: 500 sockets x 10 messages at once, one socket flooding 5,000 frames',
  env: { NODE_NO_WARNINGS: '1' },
  steps: [
    { spawn: 'bundle' },
    {
      exec: 'esbuild bench/burst.ts --bundle --platform=node --target=node20 --outdir=bench/tmp ' +
        '--external:bufferutil --external:utf-8-validate --tsconfig=tsconfig.dev.json --log-level=warning',
    },
    { exec: 'node bench/tmp/burst.js', receiveArgs: true },
  ],
});

// Benchmarks (issue: fan-out, DynamoDB reads, cold start): not part of `npm test`.
project.addTask('bench', {
  description: 'Fan-out, large rooms, cold starts, history and push costs; writes bench/results.json and BENCHMARKS.md (--quick: a CI-size run)',
  // The SDK's notice that it will need Node 22 from 2027 would fill the output.
  env: { NODE_NO_WARNINGS: '1' },
  steps: [
    { spawn: 'bundle' },
    {
      exec: 'esbuild bench/run.ts bench/probe.ts bench/cold-start-probe.ts bench/connections-server.ts bench/dynalite-server.ts '
        + 'bench/lambda-host.ts --bundle --platform=node --target=node20 --outdir=bench/tmp --external:dynalite --external:esbuild '
        + '--tsconfig=tsconfig.dev.json --log-level=warning',
    },
    // Flags: --quick, --only, --workers, --bucket, --burst, --rate-budget, --scaled-bucket, --rooms (bench/run.ts).
    { exec: 'node bench/tmp/run.js', receiveArgs: true },
  ],
});
project.eslint?.addLintPattern('bench');
project.eslint?.allowDevDeps('bench/**');

// Type-check the runtime code (excluded from jsii) against the dev tsconfig.
const typecheck = project.addTask('typecheck', {
  description: 'Type-check handlers, local gateway, tests and benchmarks (tsc --noEmit, dev tsconfig)',
  exec: 'tsc --noEmit -p tsconfig.dev.json',
});

project.testTask.prependSpawn(typecheck);
project.testTask.prependSpawn(project.tasks.tryFind('bundle')!);

// --- Packaging, jsii targets, README snippets, examples and the consumer test ---------------------------
// The npm tarball carries lib/, .jsii, assets/ (handler bundles + the local gateway), the bundled
// dependencies, API.md, README.md and LICENSE, and the rosetta fixtures (a few KB: tools that translate the
// examples from the published package, such as Construct Hub, compile them with these; aws/aws-cdk#15011).
// Nothing used only to build, test or measure (test/consumer/check-tarball.js enforces it).
project.npmignore?.exclude(
  '/.ci/', '/bench/', '/BENCHMARKS.md', '/ARCHITECTURE.md', '/RELIABILITY.md', '/examples/', '/scripts/',
  '/.local-data/', '/.cache/', '/cdk.out/',
  '*.tabl.json', '*.tgz', '*.tsbuildinfo', '*.map',
);
project.gitignore.exclude('*.tabl.json', '/examples/*/cdk.out/', '/examples/*/node_modules/');

// Examples import `cdk-websocket-chat` by name: jest and the dev tsconfig (typecheck, eslint) map it to src/.
project.jest?.addModuleNameMappers({ '^cdk-websocket-chat$': '<rootDir>/src/index.ts' });
project.tsconfigDev.file.addOverride('compilerOptions.paths', { 'cdk-websocket-chat': ['./src/index.ts'] });
project.eslint?.addLintPattern('examples');

// README snippets compile: jsii-rosetta extracts every TypeScript snippet of the assembly (README and
// @example docs) into .jsii.tabl.json and fails on one that does not compile (rosetta/default.ts-fixture);
// each ```python block of the README must be the rosetta translation of the ```ts block before it.
project.addTask('rosetta:check', {
  description: 'Compile the README and @example snippets with jsii-rosetta --strict; README Python = translation (run after compile)',
  steps: [
    // No cache: every snippet is compiled again.
    { exec: 'rm -f .jsii.tabl.json' },
    { exec: 'jsii-rosetta extract --strict .jsii' },
    { exec: 'node scripts/readme-python.js --check' },
  ],
});
project.addTask('rosetta:readme', {
  description: 'Rewrite each ```python block of README.md as the rosetta translation of the ```ts block before it',
  steps: [
    { exec: 'rm -f .jsii.tabl.json' },
    { exec: 'jsii-rosetta extract --strict .jsii' },
    { exec: 'node scripts/readme-python.js --write' },
  ],
});

// jsii targets: Python packaging needs PyPI (setuptools), so CI proves the generated bindings byte-compile.
project.addTask('check:python', {
  description: 'Generate the Python bindings (jsii-pacmak --code-only) and byte-compile them (run after compile)',
  steps: [
    { exec: 'rm -rf dist/check/python' },
    { exec: 'jsii-pacmak --code-only --target python --outdir dist/check --no-fingerprint --npmignore false' },
    { exec: 'python3 -m compileall -q dist/check/python' },
    { exec: 'test -f dist/check/python/src/cdk_websocket_chat/__init__.py' },
  ],
});

// The packed tarball, installed into a fresh app: synth the README's usage example and chat through the bin.
project.addTask('test:consumer', {
  description: 'npm pack, install into a fresh app with aws-cdk-lib/constructs, synth, and chat via cdk-websocket-chat-local',
  exec: 'bash test/consumer/consumer-test.sh',
});

// RELIABILITY.md: the reliability scenarios (faults, hostile inputs, full-size bursts) run as tests; the report is
// generated from their results and the figures they record (scripts/reliability.mjs). Not part of `npm test`.
project.addTask('reliability', {
  description: 'Run the reliability scenarios (bursts at full size) and regenerate RELIABILITY.md from their results',
  steps: [{ spawn: 'bundle' }, { exec: 'node scripts/reliability.mjs' }],
});
addClientPackage(project);
splitTestProjects(project);
project.synth();
