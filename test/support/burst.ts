import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';

/**
 * Burst scenarios against a running local gateway (the real handler bundles), reusable by the test suite (scaled
 * down), `scripts/burst.ts` (full size) and a reliability report: many sockets sending at once, and one socket
 * flooding. They count every frame each socket receives, so "delivered exactly once" is checkable: each socket
 * sits in a room of known members, and every message carries its sender and number.
 */

export interface BurstOptions {
  /** `ws://host:port/stage` */
  readonly url: string;
  /** A token for a user (e.g. the gateway's `devToken`). */
  readonly token: (user: string) => string;
  readonly sockets: number;
  readonly messagesPerSocket: number;
  /** Sockets per room (every message reaches the `roomSize` members of its room, the sender included). */
  readonly roomSize: number;
  /** Handshakes in flight at once while connecting. @default 50 */
  readonly connectConcurrency?: number;
  /** Give up waiting for deliveries after this long. @default 120000 */
  readonly timeoutMs?: number;
  /** Distinguishes the rooms of one run from another's on the same gateway. @default a random tag */
  readonly tag?: string;
  /** Bytes of memory in use, sampled every 100 ms for the peak (e.g. `process.memoryUsage().rss` in-process). */
  readonly memory?: () => number;
}

export interface BurstResult {
  readonly sockets: number;
  readonly rooms: number;
  readonly messagesSent: number;
  /** Deliveries expected: each message to every member of its room. */
  readonly expected: number;
  /** Distinct (socket, message) deliveries. */
  readonly delivered: number;
  /** Deliveries of a message a socket had already received. */
  readonly duplicates: number;
  readonly missing: number;
  /** `{"message":"Internal server error"}` frames (a failed invocation) and `error` frames. */
  readonly failures: number;
  /** A few of those frames, for the report. */
  readonly failureSamples: readonly string[];
  /** From the first handshake to the last socket open. */
  readonly connectMs: number;
  /** From the first message sent to the last one delivered. */
  readonly deliveryMs: number;
  readonly deliveriesPerSecond: number;
  readonly memoryBeforeMb?: number;
  readonly memoryPeakMb?: number;
}

interface Member {
  readonly ws: WebSocket;
  readonly user: string;
  readonly room: string;
  /** message_id → times received */
  readonly seen: Map<string, number>;
  /** `sender:n` texts received (a duplicate store would show as two ids for one text) */
  readonly texts: Set<string>;
  failures: string[];
}

/** Many sockets, in rooms of `roomSize`, each sending `messagesPerSocket` messages at once. */
export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const tag = options.tag ?? Math.random().toString(36).slice(2, 8);
  const memory = sampler(options.memory);
  const started = performance.now();
  const members = await connectAll(options, tag);
  const connectMs = performance.now() - started;
  const rooms = Math.ceil(options.sockets / options.roomSize);
  const expected = members.reduce((sum, m) => sum + roomMembers(members, m.room) * options.messagesPerSocket, 0);

  let delivered = 0;
  let last = performance.now();
  const allDelivered = new Promise<void>((resolve) => {
    for (const m of members) {
      m.ws.on('message', (data: Buffer) => {
        const frame = parse(data);
        if (frame?.action === 'message') {
          const id = String(frame.message_id);
          const count = (m.seen.get(id) ?? 0) + 1;
          m.seen.set(id, count);
          m.texts.add(String(frame.message));
          if (count === 1) delivered++;
          last = performance.now();
          if (delivered === expected) resolve();
        } else if (frame?.message === 'Internal server error' || frame?.action === 'error') {
          m.failures.push(data.toString());
        }
      });
    }
  });

  const sendStart = performance.now();
  for (const m of members) {
    for (let n = 0; n < options.messagesPerSocket; n++) m.ws.send(JSON.stringify({ action: 'sendMessage', message: `${m.user}:${n}` }));
  }
  await within(allDelivered, options.timeoutMs ?? 120_000);
  // Anything that would arrive twice (a retried post) arrives within the posts' time-out: wait a little more.
  await sleep(Math.min(3000, Math.max(500, (performance.now() - sendStart) / 4)));
  const deliveryMs = last - sendStart;

  let duplicates = 0;
  for (const m of members) for (const count of m.seen.values()) duplicates += count - 1;
  const failures = members.flatMap((m) => m.failures);
  await closeAll(members);
  const peak = memory.stop();
  return {
    sockets: members.length,
    rooms,
    messagesSent: members.length * options.messagesPerSocket,
    expected,
    delivered,
    duplicates,
    missing: expected - delivered,
    failures: failures.length,
    failureSamples: failures.slice(0, 5),
    connectMs: Math.round(connectMs),
    deliveryMs: Math.round(deliveryMs),
    deliveriesPerSecond: Math.round(delivered / Math.max(0.001, deliveryMs / 1000)),
    memoryBeforeMb: peak.before,
    memoryPeakMb: peak.peak,
  };
}

export interface FloodOptions {
  readonly url: string;
  readonly token: (user: string) => string;
  /** Frames the one socket sends at once. */
  readonly frames: number;
  /** @default 120000 */
  readonly timeoutMs?: number;
  readonly memory?: () => number;
}

export interface FloodResult {
  readonly frames: number;
  readonly delivered: number;
  readonly duplicates: number;
  readonly failures: number;
  readonly failureSamples: readonly string[];
  /** A new connection's handshake, started right after the flood was sent. */
  readonly handshakeDuringFloodMs: number;
  /** Whether its ping was answered (pong), meanwhile. */
  readonly pingAnswered: boolean;
  /** Its ping answered, meanwhile. */
  readonly pingDuringFloodMs: number;
  /** From the first frame sent to the last message back. */
  readonly durationMs: number;
  readonly memoryBeforeMb?: number;
  readonly memoryPeakMb?: number;
}

/** One socket (alone in its room) sends `frames` messages at once; meanwhile another client connects and pings. */
export async function runFlood(options: FloodOptions): Promise<FloodResult> {
  const tag = Math.random().toString(36).slice(2, 8);
  const memory = sampler(options.memory);
  const flooder = await open(`${options.url}?room_id=flood-${tag}&token=${encodeURIComponent(options.token(`flooder-${tag}`))}`);
  const seen = new Map<string, number>();
  const failures: string[] = [];
  let delivered = 0;
  let last = performance.now();
  const done = new Promise<void>((resolve) => {
    flooder.on('message', (data: Buffer) => {
      const frame = parse(data);
      if (frame?.action === 'message') {
        const id = String(frame.message_id);
        const count = (seen.get(id) ?? 0) + 1;
        seen.set(id, count);
        if (count === 1) delivered++;
        last = performance.now();
        if (delivered === options.frames) resolve();
      } else if (frame?.message === 'Internal server error' || frame?.action === 'error') {
        failures.push(data.toString());
      }
    });
  });
  const start = performance.now();
  for (let n = 0; n < options.frames; n++) flooder.send(JSON.stringify({ action: 'sendMessage', message: `flood:${n}` }));

  // Meanwhile, a new client connects and pings.
  const handshakeStart = performance.now();
  const other = await open(`${options.url}?room_id=bystander-${tag}&token=${encodeURIComponent(options.token(`bystander-${tag}`))}`);
  const handshakeDuringFloodMs = performance.now() - handshakeStart;
  const pingStart = performance.now();
  let pingAnswered = false;
  const pong = new Promise<void>((resolve) => other.on('message', (data: Buffer) => {
    if (parse(data)?.action !== 'pong') return;
    pingAnswered = true;
    resolve();
  }));
  other.send(JSON.stringify({ action: 'ping' }));
  await within(pong, options.timeoutMs ?? 120_000);
  const pingDuringFloodMs = performance.now() - pingStart;

  await within(done, options.timeoutMs ?? 120_000);
  await sleep(1000);
  let duplicates = 0;
  for (const count of seen.values()) duplicates += count - 1;
  await Promise.all([close(flooder), close(other)]);
  const peak = memory.stop();
  return {
    frames: options.frames,
    delivered,
    duplicates,
    failures: failures.length,
    failureSamples: failures.slice(0, 5),
    handshakeDuringFloodMs: Math.round(handshakeDuringFloodMs),
    pingAnswered,
    pingDuringFloodMs: Math.round(pingDuringFloodMs),
    durationMs: Math.round(last - start),
    memoryBeforeMb: peak.before,
    memoryPeakMb: peak.peak,
  };
}

/** Connects every socket, `connectConcurrency` handshakes at a time (members of one room connect together). */
async function connectAll(options: BurstOptions, tag: string): Promise<Member[]> {
  const members: Member[] = new Array(options.sockets);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < options.sockets; i = next++) {
      const user = `u${i}`;
      const room = `burst-${tag}-${Math.floor(i / options.roomSize)}`;
      const ws = await open(`${options.url}?room_id=${room}&token=${encodeURIComponent(options.token(user))}`);
      members[i] = { ws, user, room, seen: new Map(), texts: new Set(), failures: [] };
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.connectConcurrency ?? 50, options.sockets) }, worker));
  return members;
}

function roomMembers(members: readonly Member[], room: string): number {
  return members.filter((m) => m.room === room).length;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function close(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', () => resolve());
    ws.close();
    setTimeout(() => ws.terminate(), 5000).unref();
  });
}

async function closeAll(members: readonly Member[]): Promise<void> {
  await Promise.all(members.map((m) => close(m.ws)));
}

function parse(data: Buffer): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(data.toString()) as unknown;
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise`, or `ms` at most (without leaving a timer behind). */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function sampler(memory?: () => number): { stop(): { before?: number; peak?: number } } {
  if (!memory) return { stop: () => ({}) };
  const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
  const before = memory();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, memory())), 100);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, memory());
      return { before: mb(before), peak: mb(peak) };
    },
  };
}
