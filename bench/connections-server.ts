/**
 * A stand-in for API Gateway's `@connections` endpoint: answers each `POST /{stage}/@connections/{id}` with 200
 * after `latency_ms` (the network round trip a Lambda pays in production). Runs in its own process so that the
 * posting side is measured alone. `GET /stats` returns the counts; `POST /reset` clears them.
 */
import * as http from 'node:http';

const latencyMs = Number(process.env.LATENCY_MS ?? 20);
let posts = 0;
let inFlight = 0;
let maxInFlight = 0;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ posts, maxInFlight }));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    posts = 0;
    maxInFlight = 0;
    res.writeHead(204).end();
    return;
  }
  if (req.method === 'POST' && req.url?.includes('/@connections/')) {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        posts++;
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' }).end();
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
