import { parseCliArgs, parsePublishArgs, UsageError, USAGE } from '../../src/local/args';
import { chatUrl, formatBanner, invokeExample, networkExposureWarning, wscatCommand, type BannerInfo } from '../../src/local/banner';

const LONG_SECRET = 'a-local-hs256-key-of-at-least-32-bytes';

/** The CLI's flags and start-up text. */

test('defaults', () => {
  expect(parseCliArgs([])).toEqual({
    help: false,
    quiet: false,
    port: 8080,
    host: '127.0.0.1',
    stage: 'dev',
    secret: undefined,
    idleTimeoutSeconds: 600,
    maxDurationSeconds: 7200,
    persistDir: undefined,
    handlersDir: undefined,
    maxEnvironments: undefined,
    maxEnvironmentsPerFunction: undefined,
  });
});

test('every flag', () => {
  expect(
    parseCliArgs([
      '--port', '0', '--host', '0.0.0.0', '--stage', 'prod', '--secret', LONG_SECRET, '--idle-timeout', '1.5',
      '--max-duration=60', '--persist', '.local-data', '--handlers', 'dir', '--quiet', '-h',
      '--max-environments', '12', '--max-environments-per-function', '3',
    ]),
  ).toEqual({
    help: true,
    quiet: true,
    port: 0,
    host: '0.0.0.0',
    stage: 'prod',
    secret: LONG_SECRET,
    idleTimeoutSeconds: 1.5,
    maxDurationSeconds: 60,
    persistDir: '.local-data',
    handlersDir: 'dir',
    maxEnvironments: 12,
    maxEnvironmentsPerFunction: 3,
  });
});

test.each([
  [['--bogus'], /bogus/],
  [['positional'], /positional/],
  [['--port'], /argument missing|--port/],
  [['--port', 'abc'], /--port "abc"/],
  [['--port', '70000'], /--port/],
  [['--port', '-1'], /--port/],
  [['--idle-timeout', '0'], /--idle-timeout/],
  [['--max-duration', 'soon'], /--max-duration/],
  [['--stage', 'a/b'], /--stage/],
  [['--secret', ''], /--secret/],
  [['--secret', 'too-short'], /at least 32 bytes/],
  [['--persist', ''], /--persist/],
  [['--max-environments', '0'], /--max-environments/],
  [['--max-environments-per-function', 'many'], /--max-environments-per-function/],
])('%j is a usage error', (argv, message) => {
  expect(() => parseCliArgs(argv)).toThrow(UsageError);
  expect(() => parseCliArgs(argv)).toThrow(message);
});

test('usage lists every flag', () => {
  for (const flag of [
    '--port', '--host', '--stage', '--secret', '--idle-timeout', '--max-duration', '--persist', '--help', '--max-environments',
    '--max-environments-per-function', 'publish', '--idempotency-key', '--app', '--stack', '--jwks-url', '--env',
  ]) {
    expect(USAGE).toContain(flag);
  }
});

test('--app, --stack, --jwks-url and repeated --env; with --app the stage is the app\'s unless --stage says', () => {
  expect(parseCliArgs(['--app', 'cdk.out', '--stack', 'Prod/Chat', '--jwks-url', 'https://idp.example.com/jwks.json', '--env', 'A=1', '--env', 'B=x=y', '--env', 'EMPTY=', '--env', 'A=2']))
    .toMatchObject({
      appDir: 'cdk.out',
      stack: 'Prod/Chat',
      jwksUrl: 'https://idp.example.com/jwks.json',
      env: { A: '2', B: 'x=y', EMPTY: '' },
      stage: undefined,
    });
  expect(parseCliArgs(['--app', 'cdk.out', '--stage', 'beta']).stage).toBe('beta');
  // --env applies to the library's defaults too.
  expect(parseCliArgs(['--env', 'LOG_LEVEL=debug'])).toMatchObject({ appDir: undefined, env: { LOG_LEVEL: 'debug' }, stage: 'dev' });
});

test.each([
  [['--app', ''], /--app needs a directory/],
  [['--stack', 'S'], /--stack needs --app/],
  [['--app', 'cdk.out', '--stack', ''], /--stack needs --app/],
  [['--jwks-url', 'https://idp/jwks.json'], /--jwks-url needs --app with a ChatAuth\.jwks app/],
  [['--app', 'cdk.out', '--jwks-url', 'not a url'], /--jwks-url "not a url": expected an http:\/\/ or https:\/\/ URL/],
  [['--app', 'cdk.out', '--jwks-url', 'file:///etc/jwks.json'], /expected an http:\/\/ or https:\/\/ URL/],
  [['--env', 'NOEQUALS'], /--env "NOEQUALS": expected KEY=VALUE/],
  [['--env', '=value'], /expected KEY=VALUE/],
  [['--env', '1A=x'], /expected KEY=VALUE/],
  [['--app', 'cdk.out', '--handlers', 'dir'], /--handlers does not apply with --app/],
])('%j is a usage error', (argv, message) => {
  expect(() => parseCliArgs(argv)).toThrow(UsageError);
  expect(() => parseCliArgs(argv)).toThrow(message);
});

test('the wscat line quotes the URL for shells', () => {
  const url = chatUrl('ws://127.0.0.1:8080/dev', 'lobby', 'a.b-c_d');
  expect(url).toBe('ws://127.0.0.1:8080/dev?room_id=lobby&token=a.b-c_d');
  expect(wscatCommand(url)).toBe("npx wscat -c 'ws://127.0.0.1:8080/dev?room_id=lobby&token=a.b-c_d'");
  expect(wscatCommand(url, '"')).toBe('npx wscat -c "ws://127.0.0.1:8080/dev?room_id=lobby&token=a.b-c_d"');
});

const BANNER: BannerInfo = {
  url: 'ws://127.0.0.1:8080/dev',
  managementEndpoint: 'http://127.0.0.1:8080/dev',
  lambdaEndpoint: 'http://127.0.0.1:8080',
  functionNames: ['authorizer', 'connect', 'publish'],
  dynamoEndpoint: 'http://127.0.0.1:1234',
  tableName: 't',
  appSource: 'library defaults',
  handlersDir: '/h',
  idleTimeoutSeconds: 600,
  maxDurationSeconds: 7200,
  maxEnvironments: 32,
  maxEnvironmentsPerFunction: 8,
  authMode: 'hs256',
  tokenTtlSeconds: 4 * 3600,
  tokens: { alice: 'TA', bob: 'TB' },
  users: ['alice', 'bob'],
  room: 'lobby',
  port: 8080,
};

test('the banner shows the URL, both tokens and two wscat lines', () => {
  const text = formatBanner({ ...BANNER, generatedSecret: 'abc' });
  expect(text).toContain('ws://127.0.0.1:8080/dev');
  expect(text).toContain("npx wscat -c 'ws://127.0.0.1:8080/dev?room_id=lobby&token=TA'");
  expect(text).toContain("npx wscat -c 'ws://127.0.0.1:8080/dev?room_id=lobby&token=TB'");
  expect(text).toContain('second terminal');
  expect(text).toContain('abc');
  expect(text).toContain('in memory');
  expect(text).not.toContain('browser');
});

test('with the page, the banner says where to open it first', () => {
  const text = formatBanner({ ...BANNER, pageUrl: 'http://127.0.0.1:8080/', devTokenEndpoint: true });
  const lines = text.split('\n');
  expect(lines[3]).toBe('Open http://127.0.0.1:8080/ in two browser tabs, pick a name in each, and chat.');
  expect(text).toContain('  Chat page        http://127.0.0.1:8080/   (dev tokens: POST http://127.0.0.1:8080/dev-token, this machine only)');
  expect(text).toContain('Or chat from a terminal, as alice in room "lobby":');
});

test('binding beyond loopback warns that the unsigned @connections API is reachable; loopback does not', () => {
  for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) expect(networkExposureWarning(host)).toBeUndefined();
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) expect(networkExposureWarning(host)).toMatch(/@connections API, which checks no signatures/);
});

test('the banner prints the Lambda Invoke API endpoint and a one-line example', () => {
  const text = formatBanner(BANNER);
  expect(text).toContain('  Lambda Invoke    http://127.0.0.1:8080/2015-03-31/functions/{name}/invocations   (POST, this machine only)');
  expect(text).toContain('  npx cdk-websocket-chat-local publish --room lobby --type hello --data \'{"x":1}\'');
  expect(invokeExample({ ...BANNER, port: 9000 })).toMatch(/--port 9000$/);
  expect(invokeExample({ ...BANNER, quote: '"' })).toContain('--data "{\\"x\\":1}"');
  // An app without a publish function: a curl line for its first function.
  expect(invokeExample({ ...BANNER, functionNames: ['my-fn'] })).toBe(
    'curl -s -X POST http://127.0.0.1:8080/2015-03-31/functions/my-fn/invocations -d \'{}\'',
  );
});

test('the banner in jwks mode with the user\'s key set, and in demo mode: no dev tokens', () => {
  const jwks = formatBanner({ ...BANNER, authMode: 'jwks', jwksUrl: 'https://idp/jwks.json', tokens: {} });
  expect(jwks).toContain('Tokens: from your identity provider (the authorizer verifies them against https://idp/jwks.json)');
  expect(jwks).toContain("npx wscat -c 'ws://127.0.0.1:8080/dev?room_id=lobby'");
  const none = formatBanner({ ...BANNER, authMode: 'none', tokens: {} });
  expect(none).toContain('Auth: none (demo mode)');
  expect(none).not.toContain('token=');
});

test('publish arguments: exactly one target, a type, JSON data, an idempotency key, where the gateway is', () => {
  expect(parsePublishArgs(['--room', 'r1', '--type', 'hello', '--data', '{"x":1}'])).toEqual({
    help: false,
    port: 8080,
    host: '127.0.0.1',
    payload: { room_id: 'r1', type: 'hello', data: { x: 1 } },
  });
  expect(parsePublishArgs(['--user', 'alice', '--type', 't', '--idempotency-key', 'k1', '--port', '9000']).payload).toEqual({
    user_id: 'alice',
    type: 't',
    idempotency_key: 'k1',
  });
  expect(parsePublishArgs(['--connection', 'abc=', '--type', 't']).payload).toEqual({ connection_id: 'abc=', type: 't' });
  for (const argv of [[], ['--type', 't'], ['--room', 'a', '--user', 'b', '--type', 't'], ['--room', 'a'], ['--room', 'a', '--type', 't', '--data', '{nope'], ['--room', 'a', '--type', 't', '--port', 'x']]) {
    expect(() => parsePublishArgs(argv)).toThrow(UsageError);
  }
});
