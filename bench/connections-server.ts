/**
 * A stand-in for API Gateway's `@connections` endpoint, in its own process (so that the posting side is measured
 * alone). Each `POST /{stage}/@connections/{id}` is answered after `LATENCY_MS` (the network round trip a Lambda
 * pays in production). With `BUCKET_RATE` > 0 it enforces a token bucket like the account's throttle: `BUCKET_RATE`
 * requests a second, at most `BUCKET_BURST` banked; a post that finds the bucket empty is answered 429 at once
 * (counted, not delivered).
 *
 * `GET /stats` returns the counts since the last `POST /reset`: posts delivered, 429s, the most in flight, the
 * distinct connections delivered to (and how many got a frame more than once), body bytes, the first and last
 * post's arrival (epoch ms, sub-millisecond, comparable across processes), the busiest second, the last body
 * (`/stats?body=1`), and this process's CPU time.
 */
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';

const latencyMs = Number(process.env.LATENCY_MS ?? 20);
let bucketRate = Number(process.env.BUCKET_RATE ?? 0);
let bucketBurst = Number(process.env.BUCKET_BURST ?? bucketRate / 2);

const epochMs = (): number => performance.timeOrigin + performance.now();

let posts = 0;
let throttled = 0;
let inFlight = 0;
let maxInFlight = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;
let lastBody = '';
let keepBody = false;
let track = false;
const delivered = new Map<string, number>();
const perSecond = new Map<number, number>();
let tokens = bucketBurst;
let refilledAt = epochMs();

function takeToken(now: number): boolean {
  if (!(bucketRate > 0)) return true;
  tokens = Math.min(bucketBurst, tokens + ((now - refilledAt) / 1000) * bucketRate);
  refilledAt = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

function reset(options: { track?: boolean; keepBody?: boolean; bucketRate?: number; bucketBurst?: number }): void {
  posts = 0;
  throttled = 0;
  maxInFlight = inFlight;
  bytes = 0;
  firstAt = 0;
  lastAt = 0;
  lastBody = '';
  delivered.clear();
  perSecond.clear();
  track = options.track === true;
  keepBody = options.keepBody === true;
  if (options.bucketRate !== undefined) {
    bucketRate = options.bucketRate;
    bucketBurst = options.bucketBurst ?? bucketRate / 2;
  }
  tokens = bucketBurst;
  refilledAt = epochMs();
}

function stats(withBody: boolean): Record<string, unknown> {
  let duplicates = 0;
  for (const count of delivered.values()) if (count > 1) duplicates++;
  const cpu = process.cpuUsage();
  return {
    posts,
    throttled,
    maxInFlight,
    bytes,
    firstAt,
    lastAt,
    distinct: delivered.size,
    duplicates,
    peakPerSecond: Math.max(0, ...perSecond.values()),
    cpuMs: (cpu.user + cpu.system) / 1000,
    bucketRate,
    bucketBurst,
    ...(withBody ? { lastBody } : {}),
  };
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '';
  if (req.method === 'GET' && url.startsWith('/stats')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats(url.includes('body=1'))));
    return;
  }
  if (req.method === 'POST' && url === '/reset') {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk));
    req.on('end', () => {
      reset(text ? (JSON.parse(text) as Parameters<typeof reset>[0]) : {});
      res.writeHead(204).end();
    });
    return;
  }
  const at = url.indexOf('/@connections/');
  if (req.method === 'POST' && at >= 0) {
    const arrived = epochMs();
    if (!takeToken(arrived)) {
      throttled++;
      req.resume();
      req.on('end', () => {
        res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'LimitExceededException' }).end('{"message":"Too Many Requests"}');
      });
      return;
    }
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    firstAt ||= arrived;
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (keepBody) chunks.push(chunk);
    });
    req.on('end', () => {
      setTimeout(() => {
        posts++;
        inFlight--;
        bytes += size;
        lastAt = arrived;
        const second = Math.floor(arrived / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
        if (keepBody) lastBody = Buffer.concat(chunks).toString('utf8');
        if (track) {
          const id = decodeURIComponent(url.slice(at + '/@connections/'.length));
          delivered.set(id, (delivered.get(id) ?? 0) + 1);
        }
        res.writeHead(200, { 'content-length': '0' }).end();
      }, latencyMs);
    });
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.send?.({ port });
});
process.on('disconnect', () => process.exit(0));
