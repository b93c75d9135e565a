import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Locator, Page } from 'playwright-core';
import { ERROR_CODES } from '../../src/shared/contract';
import { CHROMIUM, chromiumAvailable, launchChromium } from '../support/browser';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { readPageAssets } from '../support/page-assets';
import { assertRealBundles } from '../support/real-handlers';
import { eventually, waitForEvent } from '../support/wait';
import { connectUrl, TestClient } from '../support/ws-client';

/**
 * The chat page in a real browser: headless Chromium (the Debian package) driven by playwright-core, against the local
 * gateway running the real handler bundles. The page is the client library bundled with a small plain-JS UI: a room
 * list on one socket, presence, "Load earlier", backend events, and a catch-up after a reconnect.
 *
 * Every wait polls the page (Playwright's waitFor) with a timeout: no sleeps.
 */

const REPORTS = path.join(__dirname, '..', '..', 'test-reports');
const SCREENSHOT = path.join(REPORTS, 'chat-page.png');
const WAIT = { timeout: 15_000 };
/** For items that may sit in the list of a room not in view (hidden). */
const THERE = { state: 'attached' as const, timeout: 15_000 };

const available = chromiumAvailable();
if (!available) {
  console.warn(`Skipping the browser tests of the chat page: ${CHROMIUM} is missing (apt-get install chromium, or set CHROMIUM_PATH).`);
}
const describeInBrowser = available ? describe : describe.skip;

describeInBrowser('the chat page in Chromium', () => {
  const lobby = `lobby-${process.pid}`;
  const side = `side-${process.pid}`;
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let alice: Page;
  let bob: Page;
  /** Console errors and uncaught exceptions per page (a CSP violation shows up here too). */
  const problems = new Map<Page, string[]>();
  /** Gateway connection ids per user, in connect order. */
  const connections = new Map<string, string[]>();

  beforeAll(async () => {
    assertRealBundles();
    gw = await startTestGateway({ handlersDir: REAL_HANDLERS, page: readPageAssets(), devTokenEndpoint: true });
    gw.events.on('connect', (e) => {
      const user = String(e.authorizer.userId);
      connections.set(user, [...(connections.get(user) ?? []), e.connectionId]);
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1000, height: 760 }, colorScheme: 'light', locale: 'en-GB' });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  async function openPage(query = ''): Promise<Page> {
    const page = await context.newPage();
    const seen: string[] = [];
    problems.set(page, seen);
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() === 'error') seen.push(msg.text());
    });
    page.on('pageerror', (err) => seen.push(`uncaught: ${err.message}`));
    const res = await page.goto(`${gw.pageUrl}${query}`);
    expect(res?.status()).toBe(200);
    return page;
  }

  /** Fills the first room and the name, clicks Connect; resolves once the page shows the room joined. */
  async function connect(page: Page, name: string, room: string): Promise<void> {
    await page.fill('#room', room);
    await page.fill('#name', name);
    await page.click('#connect');
    await page.locator('#status[data-state="connected"]').waitFor(WAIT);
    await page.locator(`#rooms li[data-room="${room}"]:not(.pending)`).waitFor(WAIT);
  }

  /** Joins another room from the room list's form (it becomes the room in view). */
  async function joinRoom(page: Page, room: string): Promise<void> {
    await page.fill('#new-room', room);
    await page.press('#new-room', 'Enter');
    await page.locator(`#rooms li[data-room="${room}"]:not(.pending)`).waitFor(WAIT);
    await page.locator('#message:enabled').waitFor(WAIT);
  }

  async function showRoom(page: Page, room: string): Promise<void> {
    await page.click(`#rooms li[data-room="${room}"] button.select`);
    await page.locator(`#messages ol[data-room="${room}"]:visible`).waitFor(WAIT);
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
  }

  const log = (page: Page, room: string): Locator => page.locator(`#messages ol[data-room="${room}"]`);

  /** `user`'s message `text` in a room's list. */
  function message(page: Page, room: string, user: string, text: string): Locator {
    return log(page, room).locator(`li.message[data-user="${user}"]`).filter({ has: page.locator('.text', { hasText: text }) });
  }

  /** The texts and seqs of a room's messages, in page order. */
  async function shown(page: Page, room: string): Promise<Array<{ text: string; seq: number }>> {
    return log(page, room).locator('li.message').evaluateAll((items) =>
      items.map((item) => ({ text: item.querySelector('.text')?.textContent ?? '', seq: Number((item as HTMLElement).dataset.seq) })));
  }

  async function publish(input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await fetch(`${gw.lambdaEndpoint}/2015-03-31/functions/publish/invocations`, { method: 'POST', body: JSON.stringify(input) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amz-function-error')).toBeNull();
    return (await res.json()) as Record<string, unknown>;
  }

  test('two pages chat across two rooms, on one socket each, with presence', async () => {
    alice = await openPage();
    bob = await openPage();
    // The page's defaults: the room "lobby", a guest name, the gateway's own URL.
    expect(await alice.inputValue('#room')).toBe('lobby');
    expect(await alice.inputValue('#name')).toMatch(/^guest-\d{4}$/);
    expect(await alice.inputValue('#url')).toBe(gw.url);
    expect(await alice.isDisabled('#message')).toBe(true);

    await connect(alice, 'alice', lobby);
    await connect(bob, 'bob', lobby);
    expect(await alice.textContent('#status')).toContain('Connected as alice');
    expect(await alice.textContent('#room-title')).toBe(lobby);

    // Presence: bob shows on alice's page (member_joined), both on bob's (the presence answer).
    await alice.locator('#presence li[data-user="bob"]').waitFor(WAIT);
    await bob.locator('#presence li[data-user="alice"]').waitFor(WAIT);
    expect(await bob.locator('#presence li').allTextContents()).toEqual(['alice', 'bob']);

    await say(alice, 'Hello Bob, this is Alice');
    const onBob = message(bob, lobby, 'alice', 'Hello Bob, this is Alice');
    await onBob.waitFor(WAIT);
    await message(alice, lobby, 'alice', 'Hello Bob, this is Alice').waitFor(THERE);
    expect(await onBob.locator('.user').textContent()).toBe('alice');
    expect(await onBob.getAttribute('class')).toBe('message');
    expect(await onBob.getAttribute('data-seq')).toBe('1');
    expect(await message(alice, lobby, 'alice', 'Hello Bob').getAttribute('class')).toBe('message own');
    const time = onBob.locator('time');
    expect(await time.textContent()).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    expect(Math.abs(Date.parse((await time.getAttribute('datetime'))!) - Date.now())).toBeLessThan(60_000);
    expect(await alice.inputValue('#message')).toBe('');

    // A second room, on the same socket: messages stay in their room.
    await joinRoom(alice, side);
    await joinRoom(bob, side);
    expect(await alice.textContent('#room-title')).toBe(side);
    await say(bob, 'over here');
    await message(alice, side, 'bob', 'over here').waitFor(THERE);
    await showRoom(bob, lobby);
    await say(bob, 'and back in the lobby');
    await message(alice, lobby, 'bob', 'and back in the lobby').waitFor(THERE);
    expect(await log(alice, side).locator('li.message').count()).toBe(1);
    expect(await log(alice, lobby).isVisible()).toBe(false);
    expect(await message(alice, side, 'bob', 'over here').isVisible()).toBe(true);
    expect(connections.get('alice')).toHaveLength(1);
    expect(connections.get('bob')).toHaveLength(1);

    // Leaving a room: bob's × on "side"; alice sees him go from that room's presence.
    await bob.click(`#rooms li[data-room="${side}"] button.leave`);
    await bob.locator(`#rooms li[data-room="${side}"]`).waitFor({ state: 'detached', ...WAIT });
    await alice.locator('#presence li[data-user="bob"]').waitFor({ state: 'detached', ...WAIT });
    await showRoom(alice, lobby);
    await alice.locator('#presence li[data-user="bob"]').waitFor(WAIT);
  });

  test('message text is text, never markup', async () => {
    const attack = '<img src=x onerror="window.__pwned=1"><b>bold?</b>';
    await say(bob, attack);
    const onAlice = message(alice, lobby, 'bob', '<img src=x');
    await onAlice.waitFor(WAIT);
    expect(await onAlice.locator('.text').textContent()).toBe(attack);
    expect(await alice.locator('#messages img, #messages b').count()).toBe(0);
    expect(await alice.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  test('an error answer shows its code and message, to the sender only', async () => {
    // Over the server's message limit (31 KB) but within a frame: the server answers MESSAGE_TOO_LARGE.
    await say(alice, 'x'.repeat(31 * 1024 + 512));
    const error = log(alice, lobby).locator(`li.error[data-code="${ERROR_CODES.messageTooLarge}"]`);
    await error.waitFor(WAIT);
    expect(await error.locator('.code').textContent()).toBe('MESSAGE_TOO_LARGE');
    expect(await error.locator('.text').textContent()).toContain('bytes');
    await say(bob, 'still here');
    await message(bob, lobby, 'bob', 'still here').waitFor(THERE);
    expect(await bob.locator('#messages li.error').count()).toBe(0);
    expect(await log(bob, lobby).locator('li.message[data-user="alice"]').count()).toBe(1);
  });

  test('offline while messages are sent (DELETE @connections): it catches up, each message once and in seq order', async () => {
    const [first] = connections.get('alice')!;
    const dropped = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', (e) => e.connectionId === first, 15_000);
    const back = waitForEvent<{ connectionId: string; authorizer: Record<string, unknown> }>(gw.events, 'connect', (e) => e.authorizer.userId === 'alice', 15_000);
    const res = await fetch(`${gw.managementEndpoint}/@connections/${encodeURIComponent(first)}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    await dropped;
    // While alice is away (the page reconnects after a jittered backoff of at least half a second).
    const texts = Array.from({ length: 20 }, (_, i) => `while away ${i + 1}`);
    for (const text of texts.slice(0, 10)) await say(bob, text);
    await back;
    for (const text of texts.slice(10)) await say(bob, text);
    await message(alice, lobby, 'bob', 'while away 20').waitFor(THERE);
    await log(alice, lobby).locator('li.system', { hasText: 'Reconnected · caught up' }).waitFor(THERE);
    await message(bob, lobby, 'bob', 'while away 20').waitFor(THERE);

    const onAlice = await shown(alice, lobby);
    // Every message once, in seq order, and the same list as bob's (who never left).
    expect(onAlice.map((m) => m.seq)).toEqual([...onAlice.map((m) => m.seq)].sort((a, b) => a - b));
    expect(new Set(onAlice.map((m) => m.seq)).size).toBe(onAlice.length);
    for (const text of texts) expect(onAlice.filter((m) => m.text === text)).toHaveLength(1);
    expect(onAlice).toEqual(await shown(bob, lobby));
    await alice.locator('#status[data-state="connected"]').waitFor(WAIT);
    expect(await log(alice, lobby).locator('li.system', { hasText: 'Connection lost' }).count()).toBe(1);
    // The other room caught up too, on the same new socket.
    await log(alice, side).locator('li.system', { hasText: 'Reconnected · caught up' }).waitFor(THERE);
    expect(connections.get('alice')).toHaveLength(2);
    expect(gw.connectionIds()).not.toContain(first);

    // The new connection chats both ways.
    await say(alice, 'Thanks, I am back');
    await message(bob, lobby, 'alice', 'Thanks, I am back').waitFor(THERE);
  });

  test('an event published through the Invoke API shows, apart from messages: to the room, and to the user', async () => {
    expect(await publish({ room_id: lobby, type: 'order.shipped', data: { order: 42, note: '<b>not bold</b>' } })).toMatchObject({ delivered: 2 });
    const roomEvent = log(alice, lobby).locator('li.event[data-type="order.shipped"]');
    await roomEvent.waitFor(WAIT);
    expect(await roomEvent.locator('.badge').textContent()).toBe('event');
    expect(JSON.parse((await roomEvent.locator('.data').textContent())!)).toEqual({ order: 42, note: '<b>not bold</b>' });
    expect(await roomEvent.getAttribute('data-seq')).toEqual(expect.stringMatching(/^\d+$/));
    await log(bob, lobby).locator('li.event[data-type="order.shipped"]').waitFor(THERE);
    expect(await alice.locator('#messages b').count()).toBe(0);

    expect(await publish({ user_id: 'alice', type: 'invoice.ready', data: 'for you' })).toMatchObject({ delivered: 1 });
    const direct = alice.locator('#messages li.event.direct[data-type="invoice.ready"]');
    await direct.waitFor(WAIT);
    expect(await direct.locator('.badge').textContent()).toBe('event to you');
    expect(await bob.locator('#messages li.event[data-type="invoice.ready"]').count()).toBe(0);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await alice.screenshot({ path: SCREENSHOT });
    expect(problems.get(alice)).toEqual([]);
    expect(problems.get(bob)).toEqual([]);
  });

  test('"Load earlier" pages back through history with before_seq', async () => {
    const room = `archive-${process.pid}`;
    const writer = await TestClient.connect(connectUrl(gw.url, { token: gw.devToken('dora'), room_id: room }));
    for (let i = 1; i <= 60; i++) {
      writer.send({ action: 'sendMessage', message: `old ${i}`, request_id: `w${i}` });
      await writer.waitFor((f) => f.request_id === `w${i}`);
    }
    const carol = await openPage();
    await connect(carol, 'carol', room);
    expect(await log(carol, room).locator('li.message').count()).toBe(0);
    await carol.click('#earlier');
    await message(carol, room, 'dora', 'old 11').waitFor(THERE);
    expect((await shown(carol, room)).map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
    expect(await carol.isVisible('#earlier')).toBe(true);
    await carol.click('#earlier');
    await log(carol, room).locator('li.message[data-seq="1"]').waitFor(THERE);
    expect((await shown(carol, room)).map((m) => m.text)).toEqual(Array.from({ length: 60 }, (_, i) => `old ${i + 1}`));
    await carol.locator('#earlier').waitFor({ state: 'hidden', ...WAIT });
    // New messages still go at the end.
    writer.send({ action: 'sendMessage', message: 'new 61' });
    await message(carol, room, 'dora', 'new 61').waitFor(THERE);
    expect((await shown(carol, room)).map((m) => m.seq).slice(-2)).toEqual([60, 61]);
    expect(problems.get(carol)).toEqual([]);
    writer.ws.close();
    await carol.close();
  });

  test('a refused handshake (a forged token pasted through ?token=) fails after a few attempts, not in a loop', async () => {
    const page = await openPage(`?token=${encodeURIComponent('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.forged')}&room=${lobby}`);
    expect(await page.isVisible('#token')).toBe(true); // the "deployed stack" section opens with a pasted token
    const rejects: number[] = [];
    const onReject = (e: { statusCode: number }) => rejects.push(e.statusCode);
    gw.events.on('reject', onReject);
    try {
      await page.click('#connect');
      await page.locator('#status[data-state="failed"]').waitFor({ timeout: 30_000 });
      const failure = page.locator('#messages li.error[data-code="CONNECTION_FAILED"]');
      await failure.waitFor(WAIT);
      expect(await failure.textContent()).toContain('refused during the handshake');
      expect(rejects).toEqual([401, 401, 401, 401]);
      await page.screenshot({ path: path.join(REPORTS, 'chat-page-refused.png') });
      expect(await page.isVisible('#connect')).toBe(true);
    } finally {
      gw.events.off('reject', onReject);
      await page.close();
    }
  });

  test('a pasted token and URL (as for a deployed wss:// stack): no dev token is asked for, the token decides the user', async () => {
    const token = gw.devToken('zoe');
    const page = await openPage(`?url=${encodeURIComponent(gw.url)}&token=${encodeURIComponent(token)}&room=${lobby}&name=ignored`);
    const devTokenRequests: string[] = [];
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === '/dev-token') devTokenRequests.push(req.url());
    });
    expect(await page.isVisible('#token')).toBe(true);
    await page.click('#connect');
    await page.locator('#status[data-state="connected"]').waitFor(WAIT);
    expect(await page.textContent('#status')).toContain('Connected as zoe');
    await page.locator(`#rooms li[data-room="${lobby}"]:not(.pending)`).waitFor(WAIT);
    await say(page, 'zoe here');
    await message(bob, lobby, 'zoe', 'zoe here').waitFor(THERE);
    expect(await message(page, lobby, 'zoe', 'zoe here').getAttribute('class')).toBe('message own');
    expect(devTokenRequests).toEqual([]);
    expect(problems.get(page)).toEqual([]);
    await page.close();
  });

  test('the page checks the room id and asks for a token for a foreign URL, before connecting', async () => {
    const page = await openPage(`?room=${'r'.repeat(129)}`);
    // Nothing reaches the gateway: no handshake is refused, none is accepted.
    const attempts: unknown[] = [];
    const onAttempt = (e: unknown) => attempts.push(e);
    gw.events.on('reject', onAttempt);
    gw.events.on('connect', onAttempt);
    try {
      // Too long (the query string bypasses the field's maxlength), then a character the backend refuses.
      await page.click('#connect');
      await page.locator('#form-error', { hasText: 'The room must be 1–128 characters' }).waitFor(WAIT);
      await page.fill('#room', 'no spaces');
      await page.click('#connect');
      await page.locator('#form-error', { hasText: 'The room must be 1–128 characters' }).waitFor(WAIT);
      await page.fill('#room', lobby);
      await page.click('summary');
      await page.fill('#url', 'wss://chat.example.com');
      await page.click('#connect');
      await page.locator('#form-error', { hasText: 'Paste a token for this URL' }).waitFor(WAIT);
      expect(await page.getAttribute('#status', 'data-state')).toBe('disconnected');
      expect(attempts).toEqual([]);
    } finally {
      gw.events.off('reject', onAttempt);
      gw.events.off('connect', onAttempt);
      await page.close();
    }
  });

  test('it pings when idle (?ping=1 shortens the 5 minutes); Disconnect ends the session, Connect catches up', async () => {
    const page = await openPage('?ping=1&name=erin');
    const frames: string[] = [];
    page.on('websocket', (ws) => {
      ws.on('framesent', (f) => frames.push(`> ${String(f.payload)}`));
      ws.on('framereceived', (f) => frames.push(`< ${String(f.payload)}`));
    });
    await page.fill('#room', lobby);
    await page.click('#connect');
    await page.locator('#status[data-state="connected"]').waitFor(WAIT);
    await eventually(async () => frames.some((f) => f.startsWith('< {"action":"pong"')), 15_000, 'a pong');
    expect(frames).toContain('> {"action":"ping"}');

    const closed = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', () => true, 15_000);
    await page.click('#disconnect');
    await page.locator('#status[data-state="disconnected"]').waitFor(WAIT);
    await page.locator('#messages li.system', { hasText: 'Disconnected.' }).waitFor(WAIT);
    await closed;
    expect(await page.isVisible('#connect')).toBe(true);
    expect(await page.isDisabled('#message')).toBe(true);

    // Messages while erin is away; Connect again (same user): the room catches up from the last seq it shows.
    await say(bob, 'while erin was out');
    await message(bob, lobby, 'bob', 'while erin was out').waitFor(THERE);
    await page.click('#connect');
    await message(page, lobby, 'bob', 'while erin was out').waitFor(THERE);
    await log(page, lobby).locator('li.system', { hasText: 'Reconnected · caught up (1 new message)' }).waitFor(THERE);
    const onErin = await shown(page, lobby);
    expect(onErin.map((m) => m.seq)).toEqual([...onErin.map((m) => m.seq)].sort((a, b) => a - b));
    expect(problems.get(page)).toEqual([]);
    await page.close();
  });
});
