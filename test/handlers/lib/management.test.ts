import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { SignedConnectionsApi } from '../../../src/handlers/lib/management';
import { NodeSha256 } from '../../support/node-sha256';

const NOW = Date.UTC(2026, 10, 22, 10, 11, 12);
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

/** What the AWS SDK's own signer produces for the same request. */
async function sdkAuthorization(
  endpoint: string, path: string, body: string, creds: typeof credentials & { sessionToken?: string },
): Promise<string> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials: creds, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path,
    query: {},
    headers: { 'host': url.host, 'content-type': 'application/octet-stream' },
    body,
  }, { signingDate: new Date(NOW) });
  return signed.headers.authorization;
}

describe('SigV4 signature', () => {
  test.each([
    ['a plain id', 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev', 'L0SM9cOFvHcCIhw=', undefined],
    ['an id with + and /', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod', 'a+b/c=', undefined],
    ['a session token', 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev', 'Zx=', 'FwoGZXIvYXdzEXAMPLE//token='],
    ['a local endpoint with a port', 'http://127.0.0.1:8080/dev', 'conn-1', undefined],
  ])('equals the SDK signer for %s', async (_name, endpoint, connectionId, sessionToken) => {
    const api = new SignedConnectionsApi({ endpoint, region: 'eu-west-1', credentials: async () => credentials, maxSockets: 1, now: () => NOW });
    const creds = { ...credentials, ...(sessionToken ? { sessionToken } : {}) };
    const body = '{"action":"message","message":"héllo"}';
    const path = `${new URL(endpoint).pathname}/@connections/${encodeURIComponent(connectionId)}`;
    const headers = api.sign(path, Buffer.from(body), creds);
    expect(headers.authorization).toBe(await sdkAuthorization(endpoint, path, body, creds));
    expect(headers['x-amz-date']).toBe('20261122T101112Z');
    if (sessionToken) expect(headers['x-amz-security-token']).toBe(sessionToken);
  });

  test('a different secret gives a different signature', () => {
    const api = new SignedConnectionsApi({ endpoint: 'https://x.example.com/dev', region: 'eu-west-1', credentials: async () => credentials, maxSockets: 1, now: () => NOW });
    const a = api.sign('/dev/@connections/c', Buffer.from('x'), credentials).authorization;
    const b = api.sign('/dev/@connections/c', Buffer.from('x'), { ...credentials, secretAccessKey: 'other' }).authorization;
    expect(a).not.toBe(b);
  });
});

describe('posting over HTTP', () => {
  let server: http.Server;
  let endpoint: string;
  const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  let answer: (res: http.ServerResponse) => void = (res) => res.writeHead(200).end();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        answer(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dev`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
    answer = (res) => res.writeHead(200).end();
  });

  const api = () => new SignedConnectionsApi({ endpoint, region: 'us-east-1', credentials: async () => credentials, maxSockets: 4 });

  test('POSTs the frame, signed, to /{stage}/@connections/{id}', async () => {
    const response = await api().post('ab+c=', '{"action":"pong"}');
    expect(response).toEqual({ status: 200 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/dev/@connections/ab%2Bc%3D', body: '{"action":"pong"}' });
    expect(seen[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
  });

  test('reports 410 with its error type', async () => {
    answer = (res) => res.writeHead(410, { 'x-amzn-ErrorType': 'GoneException:http://internal' }).end('{"message":"GoneException"}');
    expect(await api().post('gone', 'x')).toEqual({ status: 410, errorType: 'GoneException' });
  });

  test('rejects when aborted before an answer', async () => {
    answer = () => undefined; // never answers
    await expect(api().post('hung', 'x', 50)).rejects.toThrow(/no answer within 50 ms/);
  });

  test('does not reuse a keep-alive socket left idle long enough to have gone stale (a frozen Lambda)', async () => {
    const sockets = new Set<unknown>();
    server.on('connection', (socket) => sockets.add(socket));
    let clock = 0;
    const client = new SignedConnectionsApi({ endpoint, region: 'us-east-1', credentials: async () => credentials, maxSockets: 1, now: () => clock });
    await client.post('a', 'x');
    clock += 1_000;
    await client.post('b', 'x'); // reused: no new connection
    expect(sockets.size).toBe(1);
    clock += 60_000;
    await client.post('c', 'x'); // idle for a minute: a fresh connection
    expect(sockets.size).toBe(2);
    client.destroy();
  });

  test('an answer that arrived while the event loop was stalled past the time-out is an answer, not a time-out', async () => {
    // The server runs in another process, so it answers while this one is stalled.
    const child = spawn(process.execPath, ['-e', [
      "const s = require('http').createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(200).end()); });",
      "s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));",
    ].join('')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
      const client = new SignedConnectionsApi({ endpoint: `http://127.0.0.1:${port}/dev`, region: 'us-east-1', credentials: async () => credentials, maxSockets: 1 });
      await client.post('warm', 'x', 5_000); // a connected keep-alive socket
      const post = client.post('c', 'x', 50);
      await new Promise((resolve) => setImmediate(resolve)); // the request is written
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000); // the event loop stalls for a second
      await expect(post).resolves.toEqual({ status: 200 });
      client.destroy();
    } finally {
      child.kill();
    }
  });

  test('a skewed clock: "Signature expired" corrects the clock from the server\'s Date and retries once, at once', async () => {
    const serverNow = Date.now();
    const serverDate = new Date(serverNow).toUTCString();
    // The server refuses any request signed more than 5 minutes away from its own clock, as AWS does.
    answer = (res) => {
      const amzDate = String(seen.at(-1)!.headers['x-amz-date']);
      const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
      if (Math.abs(signedAt - serverNow) > 5 * 60_000) {
        res.writeHead(403, { 'x-amzn-ErrorType': 'InvalidSignatureException', 'date': serverDate })
          .end(JSON.stringify({ message: `Signature expired: ${amzDate} is now earlier than ${serverDate}` }));
      } else {
        res.writeHead(200, { date: serverDate }).end();
      }
    };
    const skewed = new SignedConnectionsApi({ endpoint, region: 'us-east-1', credentials: async () => credentials, maxSockets: 1, now: () => Date.now() - 20 * 60_000 });
    expect(await skewed.post('c', 'x')).toEqual({ status: 200 });
    expect(seen).toHaveLength(2);
    // The correction stays: the next post is signed right the first time.
    expect(await skewed.post('d', 'x')).toEqual({ status: 200 });
    expect(seen).toHaveLength(3);
    skewed.destroy();
  });

  test('any other 403 is not retried', async () => {
    answer = (res) => res.writeHead(403, { 'x-amzn-ErrorType': 'ForbiddenException', 'date': new Date(Date.now() + 3_600_000).toUTCString() }).end('{"message":"Forbidden"}');
    expect(await api().post('c', 'x')).toEqual({ status: 403, errorType: 'ForbiddenException' });
    expect(seen).toHaveLength(1);
  });

  test('rejects on a refused connection', async () => {
    const closed = new SignedConnectionsApi({ endpoint: 'http://127.0.0.1:1/dev', region: 'us-east-1', credentials: async () => credentials, maxSockets: 1 });
    await expect(closed.post('c', 'x')).rejects.toThrow(/ECONNREFUSED/);
  });
});
