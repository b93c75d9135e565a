import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { messageFrame, type StoredFrame } from '../../../src/handlers/lib/frames';
import { latestSeq, MAX_REPLAYABLE_FRAME_BYTES, nextSeq, readHistory, storeFrame, type HistoryQuery } from '../../../src/handlers/lib/history-store';
import { LIMITS, MESSAGES } from '../../../src/shared/contract';
import { startHandlerFixture, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterAll(() => fx.close());

const NOW_S = Math.floor(Date.parse('2030-01-02T03:04:05Z') / 1000);
const DAY = 24 * 60 * 60;

async function messagesTable(): Promise<string> {
  return (await fx.deps()).config.messagesTable!;
}

function frame(roomId: string, seq: number, message = `m${seq}`): StoredFrame & { room_id: string; seq: number } {
  return { ...messageFrame({ messageId: `id-${seq}`, roomId, seq, userId: 'u', message, timestamp: '2030-01-02T03:04:05.000Z' }), room_id: roomId, seq };
}

/** Stores frames `seqs` of `roomId`; `storedAt` before now - retention makes them expired. */
async function store(table: string, roomId: string, seqs: number[], options: { storedAt?: number; message?: (seq: number) => string } = {}) {
  for (const seq of seqs) {
    await storeFrame(fx.dynamo.client, table, frame(roomId, seq, options.message?.(seq)), options.storedAt ?? NOW_S, DAY);
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const seqsOf = (page: { messages: StoredFrame[] }) => page.messages.map((m) => m.seq);

async function read(table: string, query: Partial<HistoryQuery> & { limit: number }) {
  return readHistory(fx.dynamo.client, { tableName: table, roomId: 'r', nowSeconds: NOW_S, ...query });
}

describe('the room counter', () => {
  test('nextSeq gives consecutive seqs under concurrency (50 at once), latestSeq the last one', async () => {
    const table = await messagesTable();
    const seqs = await Promise.all(Array.from({ length: 50 }, () => nextSeq(fx.dynamo.client, table, 'r')));
    expect([...seqs].sort((a, b) => a - b)).toEqual(range(1, 50));
    expect(await latestSeq(fx.dynamo.client, table, 'r')).toBe(50);
    expect(await nextSeq(fx.dynamo.client, table, 'r')).toBe(51);
  });

  test('rooms count independently; a new room\'s latest seq is 0', async () => {
    const table = await messagesTable();
    await nextSeq(fx.dynamo.client, table, 'a');
    await nextSeq(fx.dynamo.client, table, 'a');
    expect(await nextSeq(fx.dynamo.client, table, 'b')).toBe(1);
    expect(await latestSeq(fx.dynamo.client, table, 'a')).toBe(2);
    expect(await latestSeq(fx.dynamo.client, table, 'never')).toBe(0);
  });

  test('the counter is the item seq = 0 with last_seq and no ttl (it never expires)', async () => {
    const table = await messagesTable();
    await nextSeq(fx.dynamo.client, table, 'r');
    const out = await fx.dynamo.client.send(new GetItemCommand({ TableName: table, Key: { [MESSAGES.partitionKey]: { S: 'r' }, [MESSAGES.sortKey]: { N: '0' } } }));
    expect(out.Item).toEqual({ [MESSAGES.partitionKey]: { S: 'r' }, [MESSAGES.sortKey]: { N: '0' }, [MESSAGES.lastSeq]: { N: '1' } });
  });

  test('a counter read from a missing table throws (the caller answers UNAVAILABLE)', async () => {
    await expect(nextSeq(fx.dynamo.client, 'missing-table', 'r')).rejects.toThrow();
    await expect(latestSeq(fx.dynamo.client, 'missing-table', 'r')).rejects.toThrow();
  });
});

test('storeFrame keeps the frame as delivered, with ttl = now + retention', async () => {
  const table = await messagesTable();
  const f = frame('r', 7, 'héllo 👋');
  await storeFrame(fx.dynamo.client, table, f, NOW_S, 3600);
  const out = await fx.dynamo.client.send(new GetItemCommand({ TableName: table, Key: { room_id: { S: 'r' }, seq: { N: '7' } } }));
  expect(out.Item).toEqual({ room_id: { S: 'r' }, seq: { N: '7' }, frame: { S: JSON.stringify(f) }, ttl: { N: String(NOW_S + 3600) } });
});

describe('readHistory', () => {
  let table: string;
  beforeAll(async () => {
    table = await messagesTable();
    for (let i = 0; i < 10; i++) await nextSeq(fx.dynamo.client, table, 'r');
    await store(table, 'r', range(1, 10));
    await store(table, 'other', range(1, 3));
  });

  test.each<[string, Partial<HistoryQuery> & { limit: number }, number[], boolean]>([
    // after_seq: ascending from there; has_more when more lie after the page.
    ['after 3, limit 4', { afterSeq: 3, limit: 4 }, [4, 5, 6, 7], true],
    ['after 6, limit 4 (exactly the rest)', { afterSeq: 6, limit: 4 }, [7, 8, 9, 10], false],
    ['after 6, limit 5 (fewer than asked)', { afterSeq: 6, limit: 5 }, [7, 8, 9, 10], false],
    ['after 9, limit 1', { afterSeq: 9, limit: 1 }, [10], false],
    ['after 10 (nothing newer)', { afterSeq: 10, limit: 5 }, [], false],
    ['after 99 (past the end)', { afterSeq: 99, limit: 5 }, [], false],
    ['after 0, limit 100', { afterSeq: 0, limit: 100 }, range(1, 10), false],
    ['after 0, limit 9', { afterSeq: 0, limit: 9 }, range(1, 9), true],
    // before_seq: the newest before it, answered ascending; has_more when older ones remain.
    ['before 8, limit 3', { beforeSeq: 8, limit: 3 }, [5, 6, 7], true],
    ['before 4, limit 3 (exactly the rest)', { beforeSeq: 4, limit: 3 }, [1, 2, 3], false],
    ['before 4, limit 10', { beforeSeq: 4, limit: 10 }, [1, 2, 3], false],
    ['before 2', { beforeSeq: 2, limit: 10 }, [1], false],
    ['before 1 (nothing older)', { beforeSeq: 1, limit: 10 }, [], false],
    ['before 0', { beforeSeq: 0, limit: 10 }, [], false],
    ['before 1000', { beforeSeq: 1000, limit: 2 }, [9, 10], true],
    // Neither: the latest.
    ['latest, limit 3', { limit: 3 }, [8, 9, 10], true],
    ['latest, limit 10', { limit: 10 }, range(1, 10), false],
    ['latest, limit 100', { limit: 100 }, range(1, 10), false],
  ])('%s', async (_what, query, seqs, hasMore) => {
    const page = await read(table, query);
    expect(seqsOf(page)).toEqual(seqs);
    expect(page.hasMore).toBe(hasMore);
  });

  test('frames come back exactly as stored; the counter item (seq 0) is never one of them', async () => {
    const page = await read(table, { afterSeq: 0, limit: 100 });
    expect(page.messages).toEqual(range(1, 10).map((seq) => frame('r', seq)));
    const back = await read(table, { limit: 100 });
    expect(back.messages.map((m) => m.seq)).not.toContain(0);
    expect(back.messages.every((m) => m.action === 'message')).toBe(true);
  });

  test('paging back from the latest visits every message once', async () => {
    const seen: number[] = [];
    let page = await read(table, { limit: 3 });
    seen.unshift(...seqsOf(page) as number[]);
    while (page.hasMore) {
      page = await read(table, { beforeSeq: page.messages[0].seq, limit: 3 });
      seen.unshift(...seqsOf(page) as number[]);
    }
    expect(seen).toEqual(range(1, 10));
  });

  test('replaying forward visits every message once', async () => {
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = await read(table, { afterSeq: after, limit: 4 });
      seen.push(...seqsOf(page) as number[]);
      if (!page.hasMore) break;
      after = page.messages[page.messages.length - 1].seq!;
    }
    expect(seen).toEqual(range(1, 10));
  });
});

describe('expired items (ttl <= now) are skipped', () => {
  let table: string;
  beforeAll(async () => {
    table = await messagesTable();
    // 1-5 live, 6-15 expired, 16 live, 17-18 expired.
    await store(table, 'r', range(1, 5));
    await store(table, 'r', range(6, 15), { storedAt: NOW_S - DAY - 60 });
    await store(table, 'r', [16]);
    await store(table, 'r', [17, 18], { storedAt: NOW_S - DAY });
  });

  test.each<[string, Partial<HistoryQuery> & { limit: number }, number[], boolean]>([
    ['forward past a run of expired items', { afterSeq: 0, limit: 5 }, [1, 2, 3, 4, 5], true],
    ['forward across them', { afterSeq: 0, limit: 6 }, [1, 2, 3, 4, 5, 16], false],
    ['forward: only expired ones beyond', { afterSeq: 5, limit: 1 }, [16], false],
    ['forward from inside the expired run', { afterSeq: 8, limit: 3 }, [16], false],
    ['latest skips expired newest', { limit: 2 }, [5, 16], true],
    ['backward across the run', { beforeSeq: 16, limit: 5 }, [1, 2, 3, 4, 5], false],
    ['backward: the expired run then live ones', { beforeSeq: 16, limit: 2 }, [4, 5], true],
  ])('%s', async (_what, query, seqs, hasMore) => {
    const page = await read(table, query);
    expect(seqsOf(page)).toEqual(seqs);
    expect(page.hasMore).toBe(hasMore);
  });

  test('an item whose ttl is exactly now is expired', async () => {
    const t = await messagesTable();
    await storeFrame(fx.dynamo.client, t, frame('r', 1), NOW_S - 100, 100);
    await storeFrame(fx.dynamo.client, t, frame('r', 2), NOW_S - 100, 101);
    expect(seqsOf(await read(t, { afterSeq: 0, limit: 10 }))).toEqual([2]);
  });
});

describe('the answer stops before ~120 KB', () => {
  const big = (seq: number) => `${seq}:${'x'.repeat(40_000)}`;
  let table: string;
  let frameBytes: number;
  let fit: number;
  beforeAll(async () => {
    table = await messagesTable();
    await store(table, 'r', range(1, 8), { message: big });
    frameBytes = Buffer.byteLength(JSON.stringify(frame('r', 1, big(1))));
    // The answer's envelope takes 1 KB of the budget; frames are separated by commas.
    fit = Math.floor((LIMITS.maxHistoryAnswerBytes - 1024) / (frameBytes + 1));
    expect(fit).toBeGreaterThanOrEqual(2);
    expect(fit).toBeLessThan(8);
  });

  const answerBytes = (messages: StoredFrame[]) =>
    Buffer.byteLength(JSON.stringify({ action: 'history', room_id: 'r', messages, latest_seq: Number.MAX_SAFE_INTEGER, has_more: true, request_id: 'x'.repeat(64) }));

  test('forward: as many frames as fit, has_more, under the limit', async () => {
    const page = await read(table, { afterSeq: 0, limit: 100 });
    expect(seqsOf(page)).toEqual(range(1, fit));
    expect(page.hasMore).toBe(true);
    expect(answerBytes(page.messages)).toBeLessThanOrEqual(LIMITS.maxHistoryAnswerBytes);
    // The next page goes on where it stopped.
    const next = await read(table, { afterSeq: fit, limit: 100 });
    expect(seqsOf(next)[0]).toBe(fit + 1);
  });

  test('backward: the newest frames that fit, has_more', async () => {
    const page = await read(table, { limit: 100 });
    expect(seqsOf(page)).toEqual(range(8 - fit + 1, 8));
    expect(page.hasMore).toBe(true);
    expect(answerBytes(page.messages)).toBeLessThanOrEqual(LIMITS.maxHistoryAnswerBytes);
  });

  test('the limit still applies first when it is smaller', async () => {
    const page = await read(table, { afterSeq: 0, limit: 1 });
    expect(seqsOf(page)).toEqual([1]);
    expect(page.hasMore).toBe(true);
  });

  test('a smaller maxBytes', async () => {
    const page = await read(table, { afterSeq: 0, limit: 100, maxBytes: 1024 + frameBytes + 1 });
    expect(seqsOf(page)).toEqual([1]);
    expect(page.hasMore).toBe(true);
  });

  test('the last page that fits says has_more: false', async () => {
    const page = await read(table, { afterSeq: 8 - fit, limit: 100 });
    expect(seqsOf(page)).toEqual(range(8 - fit + 1, 8));
    expect(page.hasMore).toBe(false);
  });
});

test('MAX_REPLAYABLE_FRAME_BYTES is exactly the largest frame an answer holds alone (publish refuses larger room events)', async () => {
  const table = await messagesTable();
  const sized = (seq: number, bytes: number) => {
    const f = frame('r', seq, '');
    return frame('r', seq, 'w'.repeat(bytes - Buffer.byteLength(JSON.stringify(f))));
  };
  await storeFrame(fx.dynamo.client, table, sized(1, MAX_REPLAYABLE_FRAME_BYTES), NOW_S, DAY);
  await storeFrame(fx.dynamo.client, table, sized(2, MAX_REPLAYABLE_FRAME_BYTES + 1), NOW_S, DAY);
  expect(Buffer.byteLength(JSON.stringify(sized(2, MAX_REPLAYABLE_FRAME_BYTES + 1)))).toBe(MAX_REPLAYABLE_FRAME_BYTES + 1);

  const first = await read(table, { afterSeq: 0, limit: 100 });
  expect(seqsOf(first)).toEqual([1]);
  expect(first.hasMore).toBe(true);
  // One byte larger: no page can ever hold it.
  const stuck = await read(table, { afterSeq: 1, limit: 100 });
  expect(stuck).toEqual({ messages: [], hasMore: true });
});

test('limit 100 with more stored: 100 and has_more; it reads one item more than asked, not the room', async () => {
  const table = await messagesTable();
  await store(table, 'r', range(1, 150));
  let queries = 0;
  let evaluated = 0;
  const client = fx.dynamo.client;
  client.middlewareStack.add((next, context) => async (args) => {
    const out = await next(args);
    if (context.commandName === 'QueryCommand') {
      queries++;
      evaluated += (out.output as { ScannedCount?: number }).ScannedCount ?? 0;
    }
    return out;
  }, { step: 'initialize', name: 'countHistoryQueries' });
  try {
    const page = await read(table, { afterSeq: 0, limit: 100 });
    expect(seqsOf(page)).toEqual(range(1, 100));
    expect(page.hasMore).toBe(true);
    expect(queries).toBe(1);
    expect(evaluated).toBe(101);
    const back = await read(table, { beforeSeq: 101, limit: 100 });
    expect(seqsOf(back)).toEqual(range(1, 100));
    expect(back.hasMore).toBe(false);
  } finally {
    client.middlewareStack.remove('countHistoryQueries');
  }
});

test('reads are strongly consistent and by key (no Scan)', async () => {
  const table = await messagesTable();
  const sent: unknown[] = [];
  const client = fx.dynamo.client;
  client.middlewareStack.add((next, context) => async (args) => {
    sent.push([context.commandName, args.input]);
    return next(args);
  }, { step: 'initialize', name: 'recordHistoryCommands' });
  try {
    await read(table, { limit: 5 });
    await latestSeq(client, table, 'r');
  } finally {
    client.middlewareStack.remove('recordHistoryCommands');
  }
  expect(sent).toEqual([
    ['QueryCommand', expect.objectContaining({ TableName: table, ConsistentRead: true, ScanIndexForward: false })],
    ['GetItemCommand', expect.objectContaining({ TableName: table, ConsistentRead: true })],
  ]);
});
