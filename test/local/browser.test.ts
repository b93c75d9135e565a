import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { ERROR_CODES } from '../../src/shared/contract';
import { CHROMIUM, chromiumAvailable, launchChromium } from '../support/browser';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { readPageAssets } from '../support/page-assets';
import { assertRealBundles } from '../support/real-handlers';
import { waitForEvent } from '../support/wait';

/**
 * The chat page in a real browser: headless Chromium (the Debian package) driven by playwright-core, against
 * the local gateway running the real handler bundles. Two tabs chat in one room; an error frame and a refused
 * handshake show on the page; a connection deleted through @connections comes back by itself.
 *
 * Every wait polls the page (Playwright's waitFor) with a timeout: no sleeps.
 */

const REPORTS = path.join(__dirname, '..', '..', 'test-reports');
const SCREENSHOT = path.join(REPORTS, 'chat-page.png');
const WAIT = { timeout: 15_000 };

const available = chromiumAvailable();
if (!available) {
  console.warn(`Skipping the browser tests of the chat page: ${CHROMIUM} is missing (apt-get install chromium, or set CHROMIUM_PATH).`);
}
const describeInBrowser = available ? describe : describe.skip;

describeInBrowser('the chat page in Chromium', () => {
  const room = `browser-${process.pid}`;
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let alice: Page;
  let bob: Page;
  /** Console errors and uncaught exceptions per page (a CSP violation shows up here too). */
  const problems = new Map<Page, string[]>();

  beforeAll(async () => {
    assertRealBundles();
    gw = await startTestGateway({ handlersDir: REAL_HANDLERS, page: readPageAssets(), devTokenEndpoint: true });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 900, height: 760 }, colorScheme: 'light', locale: 'en-GB' });
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

  /** Fills the room and name, clicks Connect; resolves with the connection id once the page says Connected. */
  async function join(page: Page, name: string): Promise<string> {
    await page.fill('#room', room);
    await page.fill('#name', name);
    const connected = waitForEvent<{ connectionId: string; authorizer: Record<string, unknown> }>(
      gw.events,
      'connect',
      (e) => e.authorizer.userId === name && e.authorizer.roomId === room,
      15_000,
    );
    await page.click('#connect');
    await page.locator('#status[data-state="connected"]').waitFor(WAIT);
    return (await connected).connectionId;
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#message', text);
    await page.press('#message', 'Enter');
  }

  /** The text of `user`'s message `text` on `page`, once it shows. */
  function message(page: Page, user: string, text: string) {
    return page.locator(`#messages li.message[data-user="${user}"]`).filter({ has: page.locator('.text', { hasText: text }) });
  }

  let aliceConnection: string;

  test('two tabs, one room: each message shows in both, with its user and time', async () => {
    alice = await openPage();
    bob = await openPage();
    // The page's defaults: the room "lobby", a guest name, the gateway's own URL.
    expect(await alice.inputValue('#room')).toBe('lobby');
    expect(await alice.inputValue('#name')).toMatch(/^guest-\d{4}$/);
    expect(await alice.inputValue('#url')).toBe(gw.url);
    expect(await alice.isDisabled('#message')).toBe(true);

    aliceConnection = await join(alice, 'alice');
    await join(bob, 'bob');
    expect(await alice.textContent('#status')).toContain(`Connected · ${room}`);

    await say(alice, 'Hello Bob, this is Alice');
    const onBob = message(bob, 'alice', 'Hello Bob, this is Alice');
    await onBob.waitFor(WAIT);
    await message(alice, 'alice', 'Hello Bob, this is Alice').waitFor(WAIT);
    expect(await onBob.locator('.user').textContent()).toBe('alice');
    expect(await onBob.getAttribute('class')).toBe('message');
    expect(await message(alice, 'alice', 'Hello Bob').getAttribute('class')).toBe('message own');
    const time = onBob.locator('time');
    expect(await time.textContent()).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    expect(Math.abs(Date.parse((await time.getAttribute('datetime'))!) - Date.now())).toBeLessThan(60_000);
    expect(await alice.inputValue('#message')).toBe('');

    await say(bob, 'Hi Alice! Bob here.');
    await message(alice, 'bob', 'Hi Alice! Bob here.').waitFor(WAIT);
  });

  test('message text is text, never markup', async () => {
    const attack = '<img src=x onerror="window.__pwned=1"><b>bold?</b>';
    await say(bob, attack);
    const shown = message(alice, 'bob', '<img src=x');
    await shown.waitFor(WAIT);
    expect(await shown.locator('.text').textContent()).toBe(attack);
    expect(await alice.locator('#messages img, #messages b').count()).toBe(0);
    expect(await alice.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  test('an error frame shows its code and message, to the sender only', async () => {
    await say(alice, 'x'.repeat(40_000));
    const error = alice.locator(`#messages li.error[data-code="${ERROR_CODES.messageTooLarge}"]`);
    await error.waitFor(WAIT);
    expect(await error.locator('.code').textContent()).toBe('MESSAGE_TOO_LARGE');
    expect((await error.locator('.text').textContent())!.length).toBeGreaterThan(5);
    // Bob's next message arrives after the error would have: Bob got no error and no oversized message.
    await say(bob, 'still here');
    await message(bob, 'bob', 'still here').waitFor(WAIT);
    expect(await bob.locator('#messages li.error').count()).toBe(0);
    expect(await bob.locator('#messages li.message[data-user="alice"]').count()).toBe(1);
  });

  test('a connection deleted server-side (DELETE @connections/{id}) reconnects by itself', async () => {
    const reconnected = waitForEvent<{ connectionId: string; authorizer: Record<string, unknown> }>(
      gw.events,
      'connect',
      (e) => e.authorizer.userId === 'alice' && e.connectionId !== aliceConnection,
      15_000,
    );
    const res = await fetch(`${gw.managementEndpoint}/@connections/${encodeURIComponent(aliceConnection)}`, { method: 'DELETE' });
    expect(res.status).toBe(204);

    await alice.locator('#messages li.system', { hasText: 'Connection lost' }).waitFor(WAIT);
    await alice.locator('#messages li.system', { hasText: 'Reconnected' }).waitFor(WAIT);
    await alice.locator('#status[data-state="connected"]').waitFor(WAIT);
    const newId = (await reconnected).connectionId;
    expect(newId).not.toBe(aliceConnection);
    expect(gw.connectionIds()).not.toContain(aliceConnection);
    const lost = await alice.locator('#messages li.system', { hasText: 'Connection lost' }).textContent();
    expect(lost).toMatch(/Reconnecting in \d+\.\d s/);

    // The new connection chats both ways.
    await say(bob, 'Welcome back, Alice');
    await message(alice, 'bob', 'Welcome back, Alice').waitFor(WAIT);
    await say(alice, 'Thanks, I am back');
    await message(bob, 'alice', 'Thanks, I am back').waitFor(WAIT);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await alice.screenshot({ path: SCREENSHOT });
    expect(problems.get(alice)).toEqual([]);
    expect(problems.get(bob)).toEqual([]);
  });

  test('a refused handshake (a forged token pasted through ?token=) shows as a failure, without retries', async () => {
    const page = await openPage(`?token=${encodeURIComponent('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.forged')}&room=${room}`);
    expect(await page.isVisible('#token')).toBe(true); // the "deployed stack" section opens with a pasted token
    const rejected = waitForEvent<{ statusCode: number }>(gw.events, 'reject', () => true, 15_000);
    await page.click('#connect');
    expect((await rejected).statusCode).toBe(401);
    await page.locator('#status[data-state="failed"]').waitFor(WAIT);
    const failure = page.locator('#messages li.error[data-code="CONNECTION_FAILED"]');
    await failure.waitFor(WAIT);
    expect(await failure.textContent()).toContain('refused during the handshake');
    await page.screenshot({ path: path.join(REPORTS, 'chat-page-refused.png') });
    expect(await page.isVisible('#connect')).toBe(true);
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
      await page.fill('#room', room);
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

  test('it pings: the gateway answers pong (?ping=1 shortens the 4-minute interval)', async () => {
    const page = await openPage('?ping=1&name=carol');
    await page.fill('#room', room);
    await page.click('#connect');
    await page.locator('#status[data-state="connected"]').waitFor(WAIT);
    await page.locator('#detail', { hasText: 'Last pong' }).waitFor(WAIT);
    // Disconnect is the user's choice: the session ends (no reconnect), Connect is offered again.
    const closed = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', () => true, 15_000);
    await page.click('#disconnect');
    await page.locator('#status[data-state="disconnected"]').waitFor(WAIT);
    await page.locator('#messages li.system', { hasText: 'Disconnected.' }).waitFor(WAIT);
    await closed;
    expect(await page.isVisible('#connect')).toBe(true);
    expect(await page.isDisabled('#message')).toBe(true);
    expect(problems.get(page)).toEqual([]);
    await page.close();
  });
});
