import { request, type IncomingMessage } from 'node:http';
import { decodeJwt, jwtVerify } from 'jose';
import { DEV_TOKEN_TTL_SECONDS } from '../../src/local/dev-token';
import {
  devSubProblem,
  devTokenRefusal,
  isLoopbackAddress,
  isLoopbackHost,
  PAGE_CSP,
  renderPage,
} from '../../src/local/web';
import { FIXTURE_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { readPageAssets } from '../support/page-assets';

/**
 * The local gateway's web side over plain HTTP: the chat page and its security headers, the routes around
 * it, and the local-only dev-token endpoint (who may ask, what it signs). The page itself runs in
 * Chromium in browser.test.ts.
 */

let gw: TestGateway;
let base: string;
const page = readPageAssets();

beforeAll(async () => {
  gw = await startTestGateway({ handlersDir: FIXTURE_HANDLERS, page, devTokenEndpoint: true });
  base = `http://127.0.0.1:${gw.port}`;
});
afterAll(async () => {
  await gw?.close();
});

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

function call(method: string, url: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function devToken(body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return call('POST', `${base}/dev-token`, { headers: { ...JSON_HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('the page', () => {
  test('GET / serves the page with the stage and the dev-token path filled in, and the security headers', async () => {
    expect(gw.pageUrl).toBe(`${base}/`);
    const res = await call('GET', `${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(PAGE_CSP).toContain("default-src 'none'");
    expect(PAGE_CSP).toContain("script-src 'self'");
    expect(PAGE_CSP).toContain("connect-src 'self' ws: wss:");
    expect(PAGE_CSP).toContain("frame-ancestors 'none'");
    expect(PAGE_CSP).not.toContain('unsafe');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toBe(renderPage(page.html, 'dev', '/dev-token'));
    expect(res.body).toContain('<meta name="chat-stage" content="dev">');
    expect(res.body).toContain('<meta name="chat-dev-token" content="/dev-token">');
    expect(res.body).not.toContain('__CHAT_');
    // No inline script or style: the CSP allows neither.
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  test('app.js and style.css, with their types; HEAD answers without a body', async () => {
    const js = await call('GET', `${base}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    expect(js.body).toBe(page.js);
    const css = await call('GET', `${base}/style.css`);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toBe(page.css);
    const head = await call('HEAD', `${base}/`);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(renderPage(page.html, 'dev', '/dev-token')));
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH'])('%s / is 405 (GET and HEAD only)', async (method) => {
    // (Node's client sends a DELETE body without a length: keep it out of the request.)
    const res = await call(method, `${base}/`, { body: method === 'DELETE' ? undefined : 'x', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  test('other paths are 404; the stage (426) and the @connections API are unchanged', async () => {
    for (const path of ['/nope', '/favicon.ico', '/app.js/x', '/dev/extra', '/dev-token/x', '/.env']) {
      expect([path, (await call('GET', `${base}${path}`)).status]).toEqual([path, 404]);
    }
    expect((await call('GET', `${base}/dev`)).status).toBe(426);
    const gone = await call('GET', `${base}/dev/@connections/nobody`);
    expect(gone.status).toBe(410);
    expect(gone.headers['x-amzn-errortype']).toBe('GoneException');
  });

  test('without the page, the gateway answers like API Gateway: 403, and no dev-token endpoint', async () => {
    const bare = await startTestGateway({ handlersDir: FIXTURE_HANDLERS });
    try {
      expect(bare.pageUrl).toBeUndefined();
      const bareBase = `http://127.0.0.1:${bare.port}`;
      expect((await call('GET', `${bareBase}/`)).status).toBe(403);
      expect((await call('POST', `${bareBase}/dev-token`, { headers: JSON_HEADERS, body: '{"sub":"a"}' })).status).toBe(403);
    } finally {
      await bare.close();
    }
  });

  test('renderPage escapes what it fills in', () => {
    expect(renderPage('<meta content="__CHAT_STAGE__">', '"><script>', '')).toBe('<meta content="&#34;&#62;&#60;script&#62;">');
  });
});

describe('POST /dev-token (local development only)', () => {
  test('signs a token for the name with the gateway key, valid for the dev-token lifetime', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await devToken({ sub: 'Zoë the tester' }, { 'origin': base, 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const body = JSON.parse(res.body) as { sub: string; token: string; expiresAt: string };
    expect(body.sub).toBe('Zoë the tester');
    const { payload, protectedHeader } = await jwtVerify(body.token, new TextEncoder().encode(gw.secret), { algorithms: ['HS256'] });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('Zoë the tester');
    expect(payload.exp! - payload.iat!).toBe(DEV_TOKEN_TTL_SECONDS);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(new Date(body.expiresAt).getTime()).toBe(payload.exp! * 1000);
    expect(gw.logs).toContain('dev token issued for "Zoë the tester"');
    expect(gw.logs.join('\n')).not.toContain(body.token);
  });

  test('the name maps to sub, nothing else: extra fields are ignored', async () => {
    const res = await devToken({ sub: 'eve', exp: 1, rooms: ['*'], iss: 'x' });
    const claims = decodeJwt((JSON.parse(res.body) as { token: string }).token);
    expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'sub']);
    expect(claims.sub).toBe('eve');
  });

  test.each([
    ['another origin', { origin: 'http://evil.example' }, 403],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }, 403],
    ['a same-site (other port) fetch', { 'sec-fetch-site': 'same-site' }, 403],
    ['a DNS-rebound host name', { host: 'evil.example:8080' }, 403],
    ['a form post (no JSON content type)', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ['text/plain (no preflight)', { 'content-type': 'text/plain' }, 415],
  ])('refuses %s', async (_what, headers, status) => {
    const res = await devToken({ sub: 'mallory' }, headers);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body)).toEqual({ message: expect.any(String) });
    expect(res.body).not.toContain('token"');
  });

  test.each([
    ['no body', '', 400],
    ['not JSON', '{sub', 400],
    ['no sub', {}, 400],
    ['an empty sub', { sub: '' }, 400],
    ['a number', { sub: 42 }, 400],
    ['a sub of 129 characters', { sub: 'a'.repeat(129) }, 400],
    ['control characters', { sub: 'a\nb' }, 400],
    ['surrounding white space', { sub: ' a ' }, 400],
    ['a body over 4 KB', { sub: 'a', pad: 'x'.repeat(5000) }, 413],
  ])('rejects %s', async (_what, body, status) => {
    expect((await devToken(body)).status).toBe(status);
  });

  test('GET is 405 (a token is never minted by a link or an <img>)', async () => {
    const res = await call('GET', `${base}/dev-token?sub=alice`);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });

  test('who may ask: loopback clients, loopback host names, same origin', () => {
    const req = (remoteAddress: string, headers: Record<string, string>) =>
      ({ method: 'POST', socket: { remoteAddress }, headers: { 'content-type': 'application/json', ...headers } }) as unknown as IncomingMessage;
    expect(devTokenRefusal(req('127.0.0.1', { host: '127.0.0.1:8080' }))).toBeUndefined();
    expect(devTokenRefusal(req('::ffff:127.0.0.1', { host: 'localhost:8080', origin: 'http://localhost:8080' }))).toBeUndefined();
    expect(devTokenRefusal(req('::1', { 'host': '[::1]:8080', 'sec-fetch-site': 'same-origin' }))).toBeUndefined();
    // --host 0.0.0.0: another machine on the network gets no token.
    expect(devTokenRefusal(req('192.168.1.20', { host: '127.0.0.1:8080' }))?.status).toBe(403);
    expect(devTokenRefusal(req('127.0.0.1', { host: '192.168.1.5:8080' }))?.status).toBe(403);
    expect(devTokenRefusal(req('127.0.0.1', { host: '127.0.0.1:8080', origin: 'http://localhost:8080' }))?.status).toBe(403);
    expect(devTokenRefusal(req('127.0.0.1', { host: '127.0.0.1:8080', origin: 'null' }))?.status).toBe(403);

    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '', undefined, '1127.0.0.1'].some(isLoopbackAddress)).toBe(false);
    expect(['localhost', 'LOCALHOST:80', '127.0.0.1:8080', '[::1]:1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['localhost.evil.com', '127.0.0.1.nip.io', 'evil:80', '[::2]:80', '', 'a:b:c'].some(isLoopbackHost)).toBe(false);
  });

  test('sub rules', () => {
    expect(devSubProblem('alice')).toBeUndefined();
    expect(devSubProblem('a'.repeat(128))).toBeUndefined();
    expect(devSubProblem('a\u0000')).toMatch(/control/);
    expect(devSubProblem(undefined)).toMatch(/required/);
  });
});
