/** The generated part of BENCHMARKS.md: one Markdown table per section of the results. */
import type { Results } from './run';

type Cell = string | number | null | undefined;

function table(headers: string[], rows: Cell[][]): string {
  const line = (cells: Cell[]): string => `| ${cells.map((c) => (c === null || c === undefined || Number.isNaN(c) ? '—' : String(c))).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

const thousands = (n: number): string => n.toLocaleString('en-US');

export function renderTables(r: Results, coldRoom: string): string {
  const m = r.machine;
  const d = r.defaults;
  const out: string[] = [
    `Measured ${m.date} on ${m.cpus} × ${m.cpu_model}, ${m.memory_gb} GB, Node ${m.node}, ${m.platform}; load average before / after `
      + `${(m.load_average_before as number[])?.[0]} / ${(m.load_average_after as number[])?.[0]}; @connections latency ${r.latency_ms} ms; `
      + `defaults: concurrency ${d.fanoutConcurrency}, shard threshold ${d.shardThreshold}, at most ${d.maxFanoutWorkers} workers, `
      + `rate budget ${d.fanoutRateBudget}/s${r.quick ? ' (BENCH_QUICK run)' : ''}; the run took ${r.runtime_seconds} s.`,
  ];
  if (r.fanout) {
    out.push('', '### Fan-out from one invocation (median of 3 warm runs; sequential: one run)', '', table(
      ['connections', 'ours (s)', 'posts/s', 'sequential (s)', 'scan + Promise.all (s)', 'speed-up vs sequential', 'items read (ours)',
        'items read (scan)', 'CPU per post: ours / scan (ms)', 'peak RSS (MB)'],
      r.fanout.map((x) => [
        x.connections, x.seconds, x.posts_per_second, x.sequential_seconds, x.scan_unbounded_seconds,
        x.sequential_seconds ? `${(x.sequential_seconds / x.seconds).toFixed(1)}×` : null, x.items_read, x.scan_items_read,
        `${x.cpu_ms_per_post} / ${x.scan_unbounded_cpu_ms_per_post}`, x.peak_rss_mb,
      ]),
    ));
  }
  if (r.concurrency_sweep) {
    out.push('', '### Concurrency sweep (ours, one invocation)', '', table(
      ['connections', 'concurrency', 'seconds', 'posts/s', 'CPU per post (ms)', 'peak RSS (MB)'],
      r.concurrency_sweep.map((x) => [x.connections, x.concurrency, x.seconds, x.posts_per_second, x.cpu_ms_per_post, x.peak_rss_mb]),
    ));
  }
  if (r.sharded) {
    out.push('', '### Large rooms: sharded over fan-out workers, and from one invocation', '',
      'Seconds: from the invoke to the last post\'s arrival at the stand-in. CPU: ms during the run, per process group; '
      + '"other" is the rest of the machine (other users of its cores). Lambda model: the CPU per post measured here at '
      + `${d.fanoutMemorySize} MiB (Lambda's memory-proportional CPU), one environment per participant.`, '', table(
        ['connections', 'workers (max / started)', 'warm', 'rate budget', 'bucket / burst', 'seconds', 'posts/s', '% of bucket', '429s',
          'retries (delivered twice)', 'one invocation: s (posts/s)', 'CPU per post (ms)', 'CPU ms: broadcast / workers / stand-in / dynalite / other', 'cores busy',
          'Lambda model: posts/s (s)'],
        [...r.sharded, ...(r.sharded_scaled ?? [])].map((x) => [
          thousands(x.connections), `${x.workers} / ${x.workers_started}`,
          `${x.cold_workers ? 'cold' : 'warm'}${x.broadcast_truncated ? ` (broadcast cut by its deadline: ${thousands(x.delivered)} delivered)` : ''}`, x.rate_budget,
          `${x.bucket} / ${x.burst}`, x.seconds, x.posts_per_second, x.percent_of_bucket, x.throttled_429,
          `${x.retries} (${x.duplicates})${x.retried_workers ? `; ${x.retried_workers} worker invocation(s) retried` : ''}`,
          x.single_invocation_seconds === null ? null : `${x.single_invocation_seconds} (${x.single_invocation_posts_per_second})`,
          x.cpu_ms_per_post, `${x.cpu.broadcast} / ${x.cpu.workers} / ${x.cpu.stand_in} / ${x.cpu.dynalite} / ${x.cpu.other}`, x.cpu.cores_busy,
          `${x.lambda_model_posts_per_second} (${x.lambda_model_seconds})`,
        ]),
      ));
  }
  if (r.single_invocation) {
    out.push('', '### Large rooms from one invocation (sharding off; 29 s deadline)', '', table(
      ['connections', 'seconds', 'posts/s', 'delivered', 'deadline reached', 'CPU per post (ms)', 'cores busy'],
      r.single_invocation.map((x) => [thousands(x.connections), x.seconds, x.posts_per_second, x.delivered, x.truncated ? 'yes' : 'no', x.cpu_ms_per_post, x.cpu.cores_busy]),
    ));
  }
  if (r.cold_start) {
    out.push('', `### Cold start (fresh Node process: load the bundle and handle one event in a room of one, \`${coldRoom}\`; median)`, '', table(
      ['handler', 'AWS SDK', 'bundle (bytes)', 'cold init (ms)', 'of which loading (ms)', 'first event (ms)'],
      r.cold_start.map((x) => [x.name, x.sdk, x.bundle_bytes, x.cold_init_ms, x.load_ms, x.first_event_ms]),
    ));
  }
  if (r.history) {
    const h = r.history;
    const ops = (o: Record<string, number>): string => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
    out.push('', '### History: what storing a message costs (sendMessage to a room of 100; medians)', '', table(
      ['history', 'first post (ms)', 'last post (ms)', 'handler (ms)', 'DynamoDB requests per message', 'write units', 'read units', 'CPU per message, 100 posts included (ms)'],
      h.cost.map((x) => [
        x.history, x.first_post_ms, x.last_post_ms, x.handler_ms, ops(x.requests_per_message), x.write_units_per_message, x.read_units_per_message,
        x.cpu_ms_per_message,
      ]),
    ));
    out.push('', '### History: a replay (`history` after_seq, limit 100, of 120 stored messages)', '', table(
      ['message (bytes)', 'messages answered', 'has_more', 'latency, median / p90 (ms)', 'answer (bytes)', 'read units', 'DynamoDB requests'],
      h.replay.map((x) => [x.message_bytes, x.messages, String(x.has_more), `${x.latency_ms} / ${x.p90_latency_ms}`, x.answer_bytes, x.read_units, ops(x.requests)]),
    ));
    out.push('', `### One room's message rate against its partition (${h.write_units_per_message} write units per message)`, '', table(
      ['partition ceiling (WCU/s)', 'offered (messages/s)', 'offered / sustainable', 'stored (messages/s)', 'UNAVAILABLE', 'latency p50 / p99 (ms)', 'writes throttled'],
      h.partition.map((x) => [
        x.ceiling_wcu || 'none (dynalite)', x.offered_per_second, x.ceiling_wcu ? `${x.offered_ratio}×` : null, x.stored_per_second,
        `${x.unavailable} of ${x.messages} (${x.unavailable_percent} %)`, `${x.p50_ms} / ${x.p99_ms}`, x.throttled_writes,
      ]),
    ));
  }
  if (r.push) {
    out.push('', '### Server push: publish against a hand-written push (warm; medians)', '', table(
      ['target', 'via', 'invoke to last post (ms)', 'p90 (ms)', 'answered (ms)', 'stored in history'],
      r.push.map((x) => [x.target, x.via, x.last_post_ms, x.p90_last_post_ms, x.answered_ms, x.stored ? 'yes (seq)' : 'no']),
    ));
  }
  if (r.profile && r.profile.length > 0) {
    const whats = [...new Set(r.profile.map((x) => x.what))];
    const categories = [...new Set(r.profile.map((x) => x.category))];
    out.push('', '### Where the CPU goes (V8 CPU profiles, % of CPU time, idle left out)', '', table(
      ['category', ...whats],
      categories.map((c) => [c, ...whats.map((w) => r.profile!.find((x) => x.what === w && x.category === c)?.percent ?? 0)]),
    ));
  }
  return out.join('\n');
}
