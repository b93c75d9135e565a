import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as ts from 'typescript';
import { cleanUp, startServer } from './support/fixtures';

/**
 * The published shape: the build script's output installed as node_modules/cdk-websocket-chat-client in a
 * scratch app, imported as ES module and CommonJS, type-checked by consumers of both kinds, and run.
 */

const run = promisify(execFile);
const packageDir = join(__dirname, '../../packages/client');
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
let app: string;
let installed: string;
let buildLog: string;

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'chat-client-'));
  installed = join(app, 'node_modules', 'cdk-websocket-chat-client');
  mkdirSync(installed, { recursive: true });
  cpSync(join(packageDir, 'package.json'), join(installed, 'package.json'));
  buildLog = (await run(process.execPath, [join(packageDir, 'scripts/build.js'), '--outdir', join(installed, 'dist')])).stdout;
}, 60_000);
afterAll(() => rmSync(app, { recursive: true, force: true }));
afterEach(cleanUp);

test('package.json: ES module + CommonJS + types, no side effects, no runtime dependencies, Apache-2.0', () => {
  expect(manifest).toMatchObject({
    name: 'cdk-websocket-chat-client',
    type: 'module',
    sideEffects: false,
    license: 'Apache-2.0',
    exports: {
      '.': {
        import: { types: './dist/index.d.ts', default: './dist/index.mjs' },
        require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
      },
    },
  });
  expect(manifest.dependencies).toBeUndefined();
  expect(manifest.peerDependencies).toBeUndefined();
  for (const file of manifest.files) expect(() => readFileSync(join(installed, file))).not.toThrow();
});

test('the ESM build is within 8 KB minified + gzipped, as the build prints', () => {
  const gzipped = gzipSync(readFileSync(join(installed, 'dist/index.mjs')), { level: 9 }).length;
  expect(gzipped).toBeLessThanOrEqual(8 * 1024);
  expect(buildLog).toContain(`${gzipped} bytes gzipped (budget 8192)`);
});

test('it imports as an ES module and requires as CommonJS', async () => {
  const esm = await run(process.execPath, ['--input-type=module', '-e', "import * as m from 'cdk-websocket-chat-client'; console.log(Object.keys(m).sort().join())"], { cwd: app });
  expect(esm.stdout.trim()).toBe('ChatClient,ChatError');
  const cjs = await run(process.execPath, ['-e', "console.log(Object.keys(require('cdk-websocket-chat-client')).sort().join())"], { cwd: app });
  expect(cjs.stdout.trim()).toBe('ChatClient,ChatError');
});

test('TypeScript consumers (ESM and CommonJS, node16 resolution) get the types', () => {
  const body = `
const chat = new ChatClient({ url: 'wss://x/prod', getToken: async () => 't' });
chat.on('message', (m: MessageFrame) => m.message.toUpperCase());
chat.on('state', (s) => s === 'reconnecting');
chat.join('r').then((joined) => joined.latest_seq);
chat.send('r', 'hi').catch((e: unknown) => e instanceof ChatError && e.code === 'TIMEOUT');
// @ts-expect-error -- a message's text is a string
chat.on('message', (m) => { const n: number = m.message; return n; });
// @ts-expect-error -- no such event
chat.on('nope', () => undefined);
`;
  writeFileSync(join(app, 'esm.mts'), `import { ChatClient, ChatError, type MessageFrame } from 'cdk-websocket-chat-client';\n${body}`);
  writeFileSync(join(app, 'cjs.cts'), `import { ChatClient, ChatError, type MessageFrame } from 'cdk-websocket-chat-client';\n${body}`);
  const program = ts.createProgram([join(app, 'esm.mts'), join(app, 'cjs.cts')], {
    noEmit: true,
    strict: true,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
});

test('the built ES module chats with a server', async () => {
  const server = await startServer();
  const ws = pathToFileURL(join(dirname(require.resolve('ws/package.json')), 'wrapper.mjs')).href;
  const script = `
import { ChatClient } from 'cdk-websocket-chat-client';
import { WebSocket } from ${JSON.stringify(ws)};
const chat = new ChatClient({ url: ${JSON.stringify(server.url)}, token: 'carol', WebSocket });
await chat.join('r');
const sent = await chat.send('r', 'from the bundle');
chat.close();
console.log(JSON.stringify(sent));
`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, timeout: 10_000 });
  expect(JSON.parse(stdout)).toMatchObject({ action: 'message', room_id: 'r', user_id: 'carol', message: 'from the bundle', seq: 1 });
});
