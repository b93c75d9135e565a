/**
 * `npm run bench`: the shipped handler bundles measured on this machine — fan-out from one invocation against the
 * approaches users copy today and its concurrency sweep, large rooms sharded over fan-out workers, cold starts of
 * every bundle, what history costs, and server push. A full run writes bench/results.json and regenerates the tables
 * in BENCHMARKS.md; a quick or partial run writes bench/tmp/results.json and bench/tmp/BENCHMARKS.md only.
 *
 * Everything runs on loopback: dynalite (its own process), a stand-in `@connections` endpoint with a simulated
 * network latency and the account's token bucket (its own process), a stand-in for Lambda that runs the bundles in
 * processes of their own (the Invoke API, in this process), and each measurement in a fresh process.
 *
 * Flags (or environment variables): --quick (BENCH_QUICK=1), --only sharded,history (BENCH_ONLY), --workers 2,16
 * (BENCH_WORKERS: maxFanoutWorkers of the sharded runs), --bucket 10000 and --burst 5000 (BENCH_BUCKET, BENCH_BURST:
 * the stand-in's token bucket), --rate-budget 8000 (BENCH_RATE_BUDGET), --scaled-bucket 2000 (BENCH_SCALED_BUCKET: a
 * bucket this machine can fill, for the sharded runs at the bucket's edge; 0 = none), --rooms 20000,100000
 * (BENCH_LARGE_ROOMS), --latency 20 (BENCH_LATENCY_MS).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COLD_ROOM, coldSeeds, coldStartBench, startSecrets, type ColdRow } from './cold-start';
import { ASSETS, CONNECTIONS, LARGE, log, MESSAGES, readOptions, ROOT, startStandIn, TMP, type Options } from './common';
import { completeRoom, createTables, ids, putItems, seedItems, startAccountingProxy, startDynamo, type Seed } from './dynamo';
import { fanoutBench, type FanoutRow } from './fanout';
import { historyBench, RATE_ROOM, REPLAY_ROOMS, type HistoryResults } from './history';
import { LambdaPool } from './invoke-api';
import { profileBench, type ProfileRow } from './profile';
import { PUSH_USER, pushBench, type PushRow } from './push';
import { renderTables } from './report';
import { largeRoom, shardedRuns, singleInvocation, WARM_CONNECTION, WARM_ROOM, type ShardedRow, type SingleRow } from './sharded';
import { DEFAULTS } from '../src/shared/contract';
import { HANDLERS } from '../src/shared/spec';

export interface Results {
  machine: Record<string, unknown>;
  options: Record<string, unknown>;
  latency_ms: number;
  defaults: Record<string, number>;
  quick: boolean;
  fanout?: FanoutRow[];
  concurrency_sweep?: FanoutRow[];
  sharded?: ShardedRow[];
  single_invocation?: SingleRow[];
  sharded_scaled?: ShardedRow[];
  cold_start?: ColdRow[];
  history?: HistoryResults;
  push?: PushRow[];
  profile?: ProfileRow[];
  runtime_seconds?: number;
}

const SECTIONS = ['fanout', 'sharded', 'cold', 'history', 'push', 'profile'] as const;

async function seed(options: Options, call: Parameters<typeof putItems>[0], plan: { rooms: number[]; otherRows: number }): Promise<void> {
  const t0 = Date.now();
  const seeds: Seed[] = [];
  for (const size of plan.rooms) for (const id of ids(`c-${size}`, size)) seeds.push({ id, rooms: [`room-${size}`] });
  // Other rooms: a Scan pays for the whole table.
  for (let i = 0; i < plan.otherRows; i++) seeds.push({ id: `o-${i}`, rooms: [`other-${i % 200}`] });
  seeds.push(...coldSeeds);
  seeds.push(...PUSH_USER.connections.map((id) => ({ id, rooms: [], user: PUSH_USER.user })));
  for (const r of REPLAY_ROOMS) seeds.push({ id: r.member, rooms: [r.room] });
  seeds.push({ id: RATE_ROOM.member, rooms: [RATE_ROOM.room] });
  const items = seedItems(seeds);
  await putItems(call, CONNECTIONS, items);
  // Large rooms in a table of their own (the Scan baseline's table keeps its size): membership items, which is all a
  // broadcast reads, and the sender's connection.
  const large: Seed[] = [{ id: WARM_CONNECTION, rooms: [WARM_ROOM] }];
  for (const size of options.largeRooms) {
    const { room } = largeRoom(size);
    large.push(...ids(`L${size}`, size).map((id, i) => ({ id, rooms: [room], membershipOnly: i > 0 })));
  }
  const largeItems = seedItems(large);
  await putItems(call, LARGE, largeItems);
  // Every measured room as large as stated, in the index a broadcast reads (see completeRoom: a dynalite limit).
  let added = 0;
  for (const size of plan.rooms) added += await completeRoom(call, CONNECTIONS, `room-${size}`, size, `c-${size}`);
  for (const size of options.largeRooms) added += await completeRoom(call, LARGE, largeRoom(size).room, size, `L${size}`);
  log(`seeded ${items.length} + ${largeItems.length} items in ${((Date.now() - t0) / 1000).toFixed(1)} s`
    + `${added ? ` (${added} members added where dynalite's index had lost some)` : ''}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const options = readOptions(process.argv.slice(2), process.env);
  const sections = new Set<string>(options.only.length > 0 ? options.only : SECTIONS);
  for (const s of sections) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section ${s}: one of ${SECTIONS.join(', ')}`);
  const full = !options.quick && options.only.length === 0;
  mkdirSync(TMP, { recursive: true });
  for (const h of HANDLERS) {
    try {
      readFileSync(path.join(ASSETS, `${h.bundle}.lambda`, 'index.js'));
    } catch {
      throw new Error(`missing bundle ${h.bundle}: run "npx projen bundle" first`);
    }
  }
  const quick = options.quick;
  const fanoutRooms = quick ? [100, 1000] : [100, 1000, 5000];
  const loadBefore = os.loadavg();
  const dynamo = await startDynamo(TMP);
  const standIn = await startStandIn(options.latencyMs);
  const secrets = await startSecrets();
  const pool = new LambdaPool();
  await pool.listen();
  const proxy = await startAccountingProxy(dynamo.endpoint);
  const results: Results = {
    machine: {
      date: new Date().toISOString().slice(0, 10),
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model.trim(),
      memory_gb: Math.round(os.totalmem() / 2 ** 30),
      load_average_before: loadBefore.map((x) => Number(x.toFixed(2))),
    },
    options: { ...options },
    latency_ms: options.latencyMs,
    defaults: {
      fanoutConcurrency: DEFAULTS.fanoutConcurrency,
      shardThreshold: DEFAULTS.shardThreshold,
      maxFanoutWorkers: DEFAULTS.maxFanoutWorkers,
      fanoutRateBudget: DEFAULTS.fanoutRateBudget,
      fanoutMemorySize: DEFAULTS.fanoutMemorySize,
    },
    quick,
  };
  try {
    await createTables(dynamo.call, CONNECTIONS, MESSAGES);
    await createTables(dynamo.call, LARGE, `${MESSAGES}-large`);
    await seed(options, dynamo.call, { rooms: fanoutRooms, otherRows: quick ? 2000 : 20_000 });

    if (sections.has('fanout')) {
      log('fan-out from one invocation');
      const sweep: Record<number, number[]> = quick
        ? { 1000: [10, 100, 400] }
        : { 1000: [10, 25, 50, 100, 200, 400], 5000: [50, 100, 150, 200, 300, 400] };
      const { rows, sweep: sweepRows } = await fanoutBench(
        { rooms: fanoutRooms, sweep, sequentialMax: 1000, latencyMs: options.latencyMs },
        dynamo.endpoint,
        standIn,
      );
      results.fanout = rows;
      results.concurrency_sweep = sweepRows;
    }
    if (sections.has('sharded')) {
      log('large rooms');
      const services = { pool, standIn, dynamoEndpoint: dynamo.endpoint, dynamoPid: dynamo.pid };
      const plan = {
        rooms: options.largeRooms,
        workers: options.workers,
        threshold: DEFAULTS.shardThreshold,
        rateBudget: options.rateBudget,
        bucket: options.bucket,
        burst: options.burst,
        latencyMs: options.latencyMs,
        reps: quick ? 1 : 2,
        // Warm environments (compiled code), as Lambda reuses them: one untimed broadcast to the smallest large room.
        warmRoom: quick ? 0 : options.largeRooms[0],
        coldRun: false,
      };
      results.single_invocation = [];
      results.sharded = [];
      for (const size of options.largeRooms) {
        const single = await singleInvocation(services, plan, size);
        results.single_invocation.push(single);
        const coldRun = size === options.largeRooms[0] && !quick;
        results.sharded.push(...await shardedRuns(services, { ...plan, coldRun }, size, single, DEFAULTS.fanoutMemorySize));
      }
      if (options.scaledBucket > 0) {
        // A bucket this machine can fill: does the design deliver the largest room at the bucket's rate (budget = bucket),
        // and what do 429s do past it (budget 1.5 × the bucket, the smallest room)?
        const bucket = options.scaledBucket;
        const scaled = { ...plan, bucket, burst: bucket / 2, workers: [Math.max(...options.workers)], reps: 1 };
        results.sharded_scaled = [];
        const runs: Array<[number, number]> = [
          [Math.max(...options.largeRooms), bucket],
          [Math.min(...options.largeRooms), Math.round(bucket * 1.5)],
        ];
        for (const [size, rateBudget] of runs) {
          results.sharded_scaled.push(...await shardedRuns(services, { ...scaled, rateBudget }, size, undefined, DEFAULTS.fanoutMemorySize));
        }
      }
      await pool.stop('send-message');
      await pool.stop('fanout-worker');
    }
    if (sections.has('cold')) {
      log('cold starts');
      results.cold_start = await coldStartBench({ runs: quick ? 3 : 9, externalRuns: quick ? 0 : 5 }, dynamo, standIn.url, secrets.url);
    }
    if (sections.has('history')) {
      log('history');
      results.history = await historyBench(
        {
          reps: quick ? 5 : 20,
          replayReps: quick ? 5 : 20,
          openLoopSeconds: quick ? 4 : 10,
          ceilingWcu: 40,
          ratios: quick ? [1.5] : [0.9, 1.5, 3],
          dynaliteRate: 50,
          environments: 16,
        },
        dynamo,
        proxy,
        standIn,
      );
    }
    if (sections.has('push')) {
      log('server push');
      results.push = await pushBench(quick ? 5 : 20, dynamo.endpoint, pool, standIn);
    }
    if (sections.has('profile')) {
      log('CPU profiles');
      results.profile = await profileBench({ pool, standIn, dynamoEndpoint: dynamo.endpoint, dynamoPid: dynamo.pid }, options, quick);
    }
    results.machine.load_average_after = os.loadavg().map((x) => Number(x.toFixed(2)));
    results.runtime_seconds = Math.round((Date.now() - started) / 1000);

    const json = `${JSON.stringify(results, null, 2)}\n`;
    const tables = renderTables(results, COLD_ROOM);
    if (full) {
      writeFileSync(path.join(ROOT, 'bench', 'results.json'), json);
      const mdPath = path.join(ROOT, 'BENCHMARKS.md');
      const md = readFileSync(mdPath, 'utf8');
      const start = '<!-- bench:tables:start -->';
      const end = '<!-- bench:tables:end -->';
      if (!md.includes(start) || !md.includes(end)) throw new Error(`BENCHMARKS.md lacks the ${start} … ${end} markers`);
      writeFileSync(mdPath, `${md.slice(0, md.indexOf(start) + start.length)}\n${tables}\n${md.slice(md.indexOf(end))}`);
      log(`wrote bench/results.json and BENCHMARKS.md (${results.runtime_seconds} s)`);
    } else {
      writeFileSync(path.join(TMP, 'results.json'), json);
      writeFileSync(path.join(TMP, 'BENCHMARKS.md'), `${tables}\n`);
      log(`wrote bench/tmp/results.json and bench/tmp/BENCHMARKS.md (a ${quick ? 'quick' : 'partial'} run; ${results.runtime_seconds} s)`);
    }
  } finally {
    await pool.close();
    await proxy.close();
    standIn.close();
    secrets.close();
    dynamo.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
