import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The local gateway's small web side: the browser chat page (`GET /`, `/app.js`, `/style.css`) and the
 * dev-token endpoint (`POST /dev-token`) the page gets its token from.
 *
 * LOCAL DEVELOPMENT ONLY. The dev-token endpoint signs a token for any name it is given, with the gateway's
 * key: it is a convenience of `cdk-websocket-chat-local` (the page cannot sign HS256 tokens without the key),
 * nothing a deployed stack has or should have. It answers only clients on this machine (loopback), only
 * same-origin requests (Host must be a loopback name, and a browser's Origin / Sec-Fetch-Site must say
 * same origin: no other site, and no DNS-rebound name, can mint tokens), and only JSON POSTs (a cross-site
 * form cannot send one without a CORS preflight, which is never answered).
 */

/** The page's files (embedded into the CLI bundle at build time; see `page/assets.ts`). */
export interface PageAssets {
  /** `index.html`; `__CHAT_STAGE__` and `__CHAT_DEV_TOKEN_PATH__` are filled in when it is served. */
  readonly html: string;
  readonly css: string;
  readonly js: string;
}

export interface WebOptions {
  /** The stage: the page connects to `ws://{its own host}/{stage}` by default. */
  readonly stage: string;
  /** The page; undefined = no page (the paths below fall through to the caller). */
  readonly page?: PageAssets;
  /** Issues a dev token for `sub`; undefined = no dev-token endpoint. */
  readonly devToken?: (sub: string) => DevTokenGrant;
}

export interface DevTokenGrant {
  readonly token: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** Path of the dev-token endpoint. */
export const DEV_TOKEN_PATH = '/dev-token';

/** The longest `sub` the dev-token endpoint signs. */
export const MAX_DEV_SUB_LENGTH = 128;

const MAX_DEV_TOKEN_BODY_BYTES = 4096;

/**
 * The page's Content-Security-Policy: its own script and style only (no inline code, no eval), fetch to
 * itself (the dev-token endpoint), WebSockets to any `ws:` / `wss:` URL (the local gateway or a deployed
 * stack), no framing, no plugins, no form posts, no `<base>`.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every page and dev-token response. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // The page URL may carry a token (`?token=`): never send it on as a Referer.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/**
 * Answers a request for the page or the dev-token endpoint. Returns false (nothing written) for any other
 * path, or when the page / endpoint is not enabled.
 */
export function handleWebRequest(req: IncomingMessage, res: ServerResponse, options: WebOptions): boolean {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === DEV_TOKEN_PATH && options.devToken) {
    handleDevToken(req, res, options.devToken);
    return true;
  }
  const page = options.page;
  if (!page) return false;
  let body: string;
  let type: string;
  switch (path) {
    case '/':
    case '/index.html':
      body = renderPage(page.html, options.stage, options.devToken ? DEV_TOKEN_PATH : '');
      type = 'text/html; charset=utf-8';
      break;
    case '/app.js':
      body = page.js;
      type = 'text/javascript; charset=utf-8';
      break;
    case '/style.css':
      body = page.css;
      type = 'text/css; charset=utf-8';
      break;
    default:
      return false;
  }
  // Drain any request body: a response written while it is still arriving can cut the connection.
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'Method Not Allowed\n', { allow: 'GET, HEAD' });
    return true;
  }
  send(res, 200, body, type, req.method === 'HEAD');
  return true;
}

/** A plain 404 (the gateway's answer for any path that is not the stage, the page or the API, when the page is on). */
export function sendNotFound(res: ServerResponse): void {
  sendText(res, 404, 'Not Found\n');
}

/** The page with the stage and the dev-token path filled in (HTML-escaped, though a stage name is `[A-Za-z0-9_-]`). */
export function renderPage(html: string, stage: string, devTokenPath: string): string {
  return html.replace(/__CHAT_STAGE__/g, escapeHtml(stage)).replace(/__CHAT_DEV_TOKEN_PATH__/g, escapeHtml(devTokenPath));
}

/** Why a dev-token request is refused, or undefined when it may proceed. */
export function devTokenRefusal(req: IncomingMessage): { status: number; message: string } | undefined {
  if (req.method !== 'POST') return { status: 405, message: 'Use POST with a JSON body {"sub":"NAME"}' };
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    return { status: 403, message: 'Dev tokens are issued to clients on this machine only' };
  }
  const host = req.headers.host ?? '';
  if (!isLoopbackHost(host)) {
    return { status: 403, message: 'Dev tokens are issued only on a loopback host name (localhost, 127.0.0.1, [::1])' };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return { status: 403, message: 'Cross-origin dev-token requests are refused' };
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { status: 403, message: 'Cross-site dev-token requests are refused' };
  }
  const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType !== 'application/json') return { status: 415, message: 'Send Content-Type: application/json' };
  return undefined;
}

/** A valid `sub` for a dev token: 1–128 characters, no control characters; else the reason it is not. */
export function devSubProblem(sub: unknown): string | undefined {
  if (typeof sub !== 'string' || sub.length === 0) return 'sub (the user name) is required';
  if (sub.length > MAX_DEV_SUB_LENGTH) return `sub is longer than ${MAX_DEV_SUB_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(sub)) return 'sub must not contain control characters';
  if (sub.trim() !== sub) return 'sub must not start or end with white space';
  return undefined;
}

function handleDevToken(req: IncomingMessage, res: ServerResponse, issue: (sub: string) => DevTokenGrant): void {
  const refusal = devTokenRefusal(req);
  if (refusal) {
    req.resume();
    sendJson(res, refusal.status, { message: refusal.message }, refusal.status === 405 ? { allow: 'POST' } : {});
    return;
  }
  readBody(req, MAX_DEV_TOKEN_BODY_BYTES).then(
    (text) => {
      if (text === undefined) return sendJson(res, 413, { message: `The body is larger than ${MAX_DEV_TOKEN_BODY_BYTES} bytes` });
      let sub: unknown;
      try {
        sub = (JSON.parse(text) as { sub?: unknown } | null)?.sub;
      } catch {
        return sendJson(res, 400, { message: 'The body is not JSON' });
      }
      const problem = devSubProblem(sub);
      if (problem) return sendJson(res, 400, { message: problem });
      const grant = issue(sub as string);
      return sendJson(res, 200, { sub, token: grant.token, expiresAt: new Date(grant.expiresAt * 1000).toISOString() });
    },
    () => res.destroy(),
  );
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.replace(/^::ffff:/i, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}

/** A Host header naming this machine: `localhost`, `127.x.y.z` or `[::1]`, with an optional port. */
export function isLoopbackHost(host: string): boolean {
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d{1,5})?$/.exec(host);
  if (!match) return false;
  const name = match[1].toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, type: string, headOnly = false, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...extra,
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(headOnly ? undefined : body);
}

function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  send(res, status, text, 'text/plain; charset=utf-8', false, extra);
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), 'application/json', false, extra);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
