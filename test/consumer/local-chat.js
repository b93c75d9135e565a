#!/usr/bin/env node
/**
 * Starts `npx cdk-websocket-chat-local --port 0` in a folder where the packed cdk-websocket-chat is installed,
 * reads the ws:// URLs and dev tokens it prints, and chats over real sockets with the `ws` it ships: a
 * handshake without a token is refused, alice and bob join a room, alice's message reaches both, ping gets
 * pong. Then stops the gateway with SIGTERM and expects a clean exit.
 */
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');

const STARTUP_TIMEOUT_MS = 60_000;
const FRAME_TIMEOUT_MS = 15_000;

// The package itself depends on nothing at run time (its gateway bundles its own WebSocket server): the app brings
// its own client, as a user testing with wscat or their code would.
const WebSocket = require('ws');

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Starts the gateway; resolves with the process and its banner once the second `wscat` line is out. */
function startGateway() {
  const child = spawn('npx', ['--no-install', 'cdk-websocket-chat-local', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    // Its own process group, as in a terminal: npx runs the bin through a shell, and a signal for the gateway
    // goes to the whole group (a SIGTERM to npx alone does not reach it).
    detached: true,
  });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      if (/Press Ctrl\+C to stop/.test(output)) resolve(output);
    };
    child.stdout.setEncoding('utf-8').on('data', onData);
    child.stderr.setEncoding('utf-8').on('data', onData);
    exited.then(({ code, signal }) => reject(new Error(`the gateway exited (${code ?? signal}) before it was ready:\n${output}`)));
  });
  return { child, exited, ready: withTimeout(ready, STARTUP_TIMEOUT_MS, 'the gateway banner'), output: () => output };
}

function killGroup(pid, signal) {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

/** Resolves once no process of the group `pid` is left. */
async function groupGone(pid) {
  for (;;) {
    try { process.kill(-pid, 0); } catch { return; }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The `ws://…?room_id=…&token=…` URLs of the banner (one per dev user) and the bare WebSocket URL. */
function parseBanner(banner) {
  const chatUrls = [...banner.matchAll(/ws:\/\/[^\s'"]+\?room_id=[^\s'"&]+&token=[^\s'"]+/g)].map((m) => m[0]);
  const base = /ws:\/\/[^\s'"?]+/.exec(banner)?.[0];
  assert.ok(base, `no ws:// URL in the banner:\n${banner}`);
  assert.ok(chatUrls.length >= 2, `expected two ws:// URLs with a room and a token in the banner:\n${banner}`);
  return { base, chatUrls };
}

/** Opens a socket; collects its frames; `next(pred)` waits for a frame that matches. */
function connect(url) {
  const ws = new WebSocket(url);
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    frames.push(frame);
    for (const w of [...waiters]) if (w.pred(frame)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(frame); }
  });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`handshake answered ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
  const next = (pred, what) => {
    const seen = frames.find(pred);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve) => waiters.push({ pred, resolve })), FRAME_TIMEOUT_MS, what);
  };
  return { ws, opened: withTimeout(opened, FRAME_TIMEOUT_MS, `open ${url.split('?')[0]}`), next, frames };
}

async function main() {
  const gateway = startGateway();
  let stopped = false;
  try {
    const banner = await gateway.ready;
    const { base, chatUrls } = parseBanner(banner);
    console.log(`gateway up at ${base}`);

    const anonymous = connect(`${base}?room_id=lobby`);
    await assert.rejects(anonymous.opened, (err) => err.status === 401);
    console.log('  ok  a handshake without a token is refused with 401');

    const [alice, bob] = chatUrls.map(connect);
    await Promise.all([alice.opened, bob.opened]);
    console.log('  ok  alice and bob connected to room lobby with the printed tokens');

    const text = `hello from the consumer test ${Date.now()}`;
    alice.ws.send(JSON.stringify({ action: 'sendMessage', message: text }));
    const isMine = (f) => f.action === 'message' && f.message === text;
    const [toAlice, toBob] = await Promise.all([alice.next(isMine, 'alice gets her message'), bob.next(isMine, 'bob gets alice\'s message')]);
    for (const frame of [toAlice, toBob]) {
      assert.equal(frame.room_id, 'lobby');
      assert.equal(frame.user_id, 'alice');
      assert.ok(frame.message_id && !Number.isNaN(Date.parse(frame.timestamp)), JSON.stringify(frame));
    }
    console.log('  ok  alice\'s message reached alice and bob: ' + JSON.stringify(toBob));

    bob.ws.send(JSON.stringify({ action: 'ping' }));
    await bob.next((f) => f.action === 'pong', 'pong');
    console.log('  ok  ping → pong');

    const closed = Promise.all([alice, bob].map(({ ws }) => new Promise((resolve) => ws.once('close', (code) => resolve(code)))));
    stopped = true;
    process.kill(-gateway.child.pid, 'SIGTERM');
    const [, codes] = await withTimeout(Promise.all([gateway.exited, closed]), 20_000, 'the gateway to stop on SIGTERM');
    assert.deepEqual(codes, [1001, 1001], 'the gateway closes its sockets with 1001 (going away) when it stops');
    await withTimeout(groupGone(gateway.child.pid), 10_000, 'every process of the gateway to exit');
    console.log(`  ok  SIGTERM: sockets closed with ${codes.join(', ')}, every process of the gateway exited`);
  } catch (err) {
    console.error(`gateway output:\n${gateway.output()}`);
    throw err;
  } finally {
    if (!stopped || gateway.child.exitCode === null) killGroup(gateway.child.pid, 'SIGKILL');
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
