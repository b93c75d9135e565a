import { parseCliArgs, UsageError, USAGE } from '../../src/local/args';
import { chatUrl, formatBanner, networkExposureWarning, wscatCommand } from '../../src/local/banner';

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
  });
});

test('every flag', () => {
  expect(
    parseCliArgs([
      '--port', '0', '--host', '0.0.0.0', '--stage', 'prod', '--secret', LONG_SECRET, '--idle-timeout', '1.5',
      '--max-duration=60', '--persist', '.local-data', '--handlers', 'dir', '--quiet', '-h',
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
])('%j is a usage error', (argv, message) => {
  expect(() => parseCliArgs(argv)).toThrow(UsageError);
  expect(() => parseCliArgs(argv)).toThrow(message);
});

test('usage lists every flag', () => {
  for (const flag of ['--port', '--host', '--stage', '--secret', '--idle-timeout', '--max-duration', '--persist', '--help']) {
    expect(USAGE).toContain(flag);
  }
});

test('the wscat line quotes the URL for shells', () => {
  const url = chatUrl('ws://127.0.0.1:8080/dev', 'lobby', 'a.b-c_d');
  expect(url).toBe('ws://127.0.0.1:8080/dev?room_id=lobby&token=a.b-c_d');
  expect(wscatCommand(url)).toBe("npx wscat -c 'ws://127.0.0.1:8080/dev?room_id=lobby&token=a.b-c_d'");
  expect(wscatCommand(url, '"')).toBe('npx wscat -c "ws://127.0.0.1:8080/dev?room_id=lobby&token=a.b-c_d"');
});

test('the banner shows the URL, both tokens and two wscat lines', () => {
  const text = formatBanner({
    url: 'ws://127.0.0.1:8080/dev',
    managementEndpoint: 'http://127.0.0.1:8080/dev',
    dynamoEndpoint: 'http://127.0.0.1:1234',
    tableName: 't',
    handlersDir: '/h',
    idleTimeoutSeconds: 600,
    maxDurationSeconds: 7200,
    generatedSecret: 'abc',
    tokenTtlSeconds: 4 * 3600,
    tokens: { alice: 'TA', bob: 'TB' },
    room: 'lobby',
  });
  expect(text).toContain('ws://127.0.0.1:8080/dev');
  expect(text).toContain("npx wscat -c 'ws://127.0.0.1:8080/dev?room_id=lobby&token=TA'");
  expect(text).toContain("npx wscat -c 'ws://127.0.0.1:8080/dev?room_id=lobby&token=TB'");
  expect(text).toContain('second terminal');
  expect(text).toContain('abc');
  expect(text).toContain('in memory');
  expect(text).not.toContain('browser');
});

test('with the page, the banner says where to open it first', () => {
  const text = formatBanner({
    url: 'ws://127.0.0.1:8080/dev',
    managementEndpoint: 'http://127.0.0.1:8080/dev',
    pageUrl: 'http://127.0.0.1:8080/',
    devTokenEndpoint: true,
    dynamoEndpoint: 'http://127.0.0.1:1234',
    tableName: 't',
    handlersDir: '/h',
    idleTimeoutSeconds: 600,
    maxDurationSeconds: 7200,
    tokenTtlSeconds: 4 * 3600,
    tokens: { alice: 'TA', bob: 'TB' },
    room: 'lobby',
  });
  const lines = text.split('\n');
  expect(lines[3]).toBe('Open http://127.0.0.1:8080/ in two browser tabs, pick a name in each, and chat.');
  expect(text).toContain('  Chat page        http://127.0.0.1:8080/   (dev tokens: POST http://127.0.0.1:8080/dev-token, this machine only)');
  expect(text).toContain('Or chat from a terminal, as alice in room "lobby":');
});

test('binding beyond loopback warns that the unsigned @connections API is reachable; loopback does not', () => {
  for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]']) expect(networkExposureWarning(host)).toBeUndefined();
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) expect(networkExposureWarning(host)).toMatch(/@connections API, which checks no signatures/);
});
