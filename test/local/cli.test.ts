import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { renderPage } from '../../src/local/web';
import { TABLE } from '../../src/shared/contract';
import { CLI_BUNDLE, spawnCli, type CliProcess } from '../support/cli-process';
import { readPageAssets } from '../support/page-assets';
import { assertRealBundles } from '../support/real-handlers';
import { TestClient } from '../support/ws-client';

/**
 * The bundled CLI (`cdk-websocket-chat-local`, `npm run dev`), run as a user runs it: parse what it prints,
 * paste the wscat URLs into real clients, chat, stop it with a signal.
 */

assertRealBundles();

const running: CliProcess[] = [];
afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  }
});

function start(args: string[]): CliProcess {
  const cli = spawnCli(args);
  running.push(cli);
  return cli;
}

/** The banner's URL, the two pasted wscat URLs and the DynamoDB endpoint. */
async function banner(cli: CliProcess) {
  await cli.waitForStdout(/Press Ctrl\+C to stop/);
  const out = cli.stdout();
  const wscat = [...out.matchAll(/npx wscat -c '([^']+)'/g)].map((m) => m[1]);
  return {
    url: out.match(/WebSocket URL\s+(ws:\/\/\S+)/)![1],
    dynamo: out.match(/DynamoDB\s+(http:\/\/\S+)/)![1],
    table: out.match(/table (\S+),/)![1],
    wscat,
  };
}

test('prints a working URL, tokens and wscat lines; SIGTERM closes sockets with 1001 and exits 0', async () => {
  const cli = start(['--port', '0', '--quiet']);
  const { url, wscat } = await banner(cli);
  expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/dev$/);
  expect(wscat).toHaveLength(2);
  for (const line of wscat) expect(line.startsWith(`${url}?room_id=lobby&token=`)).toBe(true);

  const alice = await TestClient.connect(wscat[0]);
  const bob = await TestClient.connect(wscat[1]);
  alice.send({ action: 'sendMessage', message: 'hello from the CLI test' });
  const [frame] = await bob.waitFor((f) => f.action === 'message');
  expect(frame).toMatchObject({ user_id: 'alice', room_id: 'lobby', message: 'hello from the CLI test' });
  bob.send({ action: 'ping' });
  await bob.next('pong');

  cli.child.kill('SIGTERM');
  expect((await alice.closed).code).toBe(1001);
  expect((await bob.closed).code).toBe(1001);
  expect(await cli.exited).toEqual({ code: 0, signal: null });
});

test('--secret, --stage and --persist: data survives a restart', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-persist-'));
  try {
    const first = start(['--port', '0', '--quiet', '--stage', 'local', '--secret', 'top-secret-long-enough-for-hs256-keys', '--persist', dir]);
    const one = await banner(first);
    expect(one.url).toMatch(/\/local$/);
    expect(first.stdout()).not.toContain('top-secret');
    expect(first.stdout()).toContain(`persisted in ${dir}`);
    const db = (endpoint: string) =>
      new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const client1 = db(one.dynamo);
    await client1.send(
      new PutItemCommand({
        TableName: one.table,
        Item: { [TABLE.partitionKey]: { S: 'kept-row' }, [TABLE.sortKey]: { S: TABLE.connectionSk }, [TABLE.userId]: { S: 'u' } },
      }),
    );
    client1.destroy();
    first.child.kill('SIGINT');
    expect((await first.exited).code).toBe(0);

    const second = start(['--port', '0', '--quiet', '--persist', dir]);
    const two = await banner(second);
    const client2 = db(two.dynamo);
    const { Items } = await client2.send(new ScanCommand({ TableName: two.table }));
    client2.destroy();
    expect(Items?.map((i) => i[TABLE.partitionKey].S)).toEqual(['kept-row']);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serves the chat page embedded in the bundle (the src/local/page files), and dev tokens for it', async () => {
  const cli = start(['--port', '0', '--quiet', '--stage', 'local']);
  await cli.waitForStdout(/Press Ctrl\+C to stop/);
  const pageUrl = cli.stdout().match(/Open (http:\/\/127\.0\.0\.1:\d+\/) in two browser tabs/)![1];
  expect(cli.stdout()).toContain(`Chat page        ${pageUrl}`);
  const page = readPageAssets();
  const get = async (file: string) => {
    const res = await fetch(new URL(file, pageUrl));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    return res.text();
  };
  expect(await get('/')).toBe(renderPage(page.html, 'local', '/dev-token'));
  expect(await get('/app.js')).toBe(page.js);
  expect(await get('/style.css')).toBe(page.css);
  expect((await fetch(new URL('/nope', pageUrl))).status).toBe(404);
  const token = await fetch(new URL('/dev-token', pageUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'dana' }),
  });
  expect(token.status).toBe(200);
  const { token: jwt } = (await token.json()) as { token: string };
  const url = cli.stdout().match(/WebSocket URL\s+(ws:\/\/\S+)/)![1];
  const dana = await TestClient.connect(`${url}?room_id=lobby&token=${jwt}`);
  dana.send({ action: 'ping' });
  await dana.next('pong');
  cli.child.kill('SIGTERM');
  expect((await dana.closed).code).toBe(1001);
  expect((await cli.exited).code).toBe(0);
});

test('publish: invokes the running gateway\'s publish function through its Invoke API and prints the answer', async () => {
  const cli = start(['--port', '0', '--quiet']);
  const { url, wscat } = await banner(cli);
  const port = new URL(url).port;
  expect(cli.stdout()).toContain(`npx cdk-websocket-chat-local publish --room lobby --type hello --data '{"x":1}' --port ${port}`);
  const alice = await TestClient.connect(wscat[0]);
  const publish = start(['publish', '--room', 'lobby', '--type', 'order.shipped', '--data', '{"order":42}', '--port', port]);
  expect((await publish.exited).code).toBe(0);
  expect(JSON.parse(publish.stdout())).toMatchObject({ delivered: 1, gone: 0, failed: 0 });
  expect(await alice.next('event')).toMatchObject({ type: 'order.shipped', data: { order: 42 }, room_id: 'lobby' });

  // A function error: the message, and a non-zero exit.
  const invalid = start(['publish', '--room', 'bad room!', '--type', 't', '--port', port]);
  expect((await invalid.exited).code).toBe(1);
  expect(invalid.stderr()).toMatch(/^error: publish failed: \w+: .*room/m);
  await alice.close();
  cli.child.kill('SIGTERM');
  await cli.exited;

  // No gateway: a clear message, non-zero.
  const nobody = start(['publish', '--user', 'alice', '--type', 't', '--port', port]);
  expect((await nobody.exited).code).toBe(1);
  expect(nobody.stderr()).toContain(`error: no gateway answers at http://127.0.0.1:${port} (ECONNREFUSED)`);
});

test('--persist without the optional package classic-level says what to install', async () => {
  // The bundle run from outside this repository, where classic-level cannot be found.
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-no-level-'));
  try {
    cpSync(path.dirname(CLI_BUNDLE), path.join(dir, 'assets', 'local', 'cli'), { recursive: true });
    cpSync(path.join(path.dirname(CLI_BUNDLE), '..', '..', 'handlers'), path.join(dir, 'assets', 'handlers'), { recursive: true });
    const child = spawn(process.execPath, [path.join(dir, 'assets', 'local', 'cli', 'index.js'), '--port', '0', '--persist', path.join(dir, 'data')], { cwd: dir });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toContain('--persist needs the optional package classic-level: npm install classic-level');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help prints the usage and exits 0', async () => {
  const cli = start(['--help']);
  expect((await cli.exited).code).toBe(0);
  expect(cli.stdout()).toMatch(/^Usage: cdk-websocket-chat-local/);
});

test.each([[['--bogus']], [['--port', 'abc']], [['extra']]])('%j prints the usage on stderr and exits non-zero', async (args) => {
  const cli = start(args);
  const { code } = await cli.exited;
  expect(code).not.toBe(0);
  expect(cli.stderr()).toMatch(/^error: /);
  expect(cli.stderr()).toContain('Usage: cdk-websocket-chat-local');
  expect(cli.stdout()).toBe('');
});

test('a taken port is reported clearly and exits non-zero', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as AddressInfo;
  try {
    const cli = start(['--port', String(port)]);
    const { code } = await cli.exited;
    expect(code).toBe(1);
    expect(cli.stderr()).toContain(`Port ${port} on 127.0.0.1 is already in use (EADDRINUSE)`);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});
