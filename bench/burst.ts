import { parseArgs } from 'node:util';
import { startLocalGateway } from '../src/local/gateway';
import { runBurst, runFlood } from '../test/support/burst';

/**
 * `npx projen burst`: the local gateway's burst scenarios at full size, on the real handler bundles with their
 * deployed settings — 500 sockets (rooms of 10) each sending 10 messages at once, and one socket flooding 5,000
 * frames while another connects. Prints the figures (and `--json` prints them as JSON, for a report); exits non-zero
 * when a message was lost, duplicated, or an invocation failed.
 *
 *   npx projen burst [-- --sockets 500 --messages 10 --room-size 10 --flood 5000 --max-environments 32 --json]
 */

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'sockets': { type: 'string', default: '500' },
      'messages': { type: 'string', default: '10' },
      'room-size': { type: 'string', default: '10' },
      'flood': { type: 'string', default: '5000' },
      'max-environments': { type: 'string' },
      'json': { type: 'boolean', default: false },
    },
  });
  const maxEnvironments = values['max-environments'] === undefined ? undefined : Number(values['max-environments']);
  const gateway = await startLocalGateway({ port: 0, handlerOutput: 'ignore', maxEnvironments });
  try {
    const rss = () => process.memoryUsage().rss;
    const token = (user: string) => gateway.devToken(user);
    const burst = await runBurst({
      url: gateway.url,
      token,
      sockets: Number(values.sockets),
      messagesPerSocket: Number(values.messages),
      roomSize: Number(values['room-size']),
      timeoutMs: 600_000,
      memory: rss,
    });
    const flood = await runFlood({ url: gateway.url, token, frames: Number(values.flood), timeoutMs: 600_000, memory: rss });
    const environment = { node: process.version, cpus: (await import('node:os')).cpus().length, lambda: gateway.lambdaStats() };
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ burst, flood, environment }, null, 2)}\n`);
    } else {
      process.stdout.write(
        [
          `burst: ${burst.sockets} sockets in ${burst.rooms} rooms, ${burst.messagesSent} messages sent at once`,
          `  delivered ${burst.delivered} of ${burst.expected} (${burst.duplicates} duplicates, ${burst.failures} failed invocations)`,
          `  connected in ${(burst.connectMs / 1000).toFixed(1)} s; delivered in ${(burst.deliveryMs / 1000).toFixed(1)} s ` +
            `(${burst.deliveriesPerSecond} deliveries/s); memory ${burst.memoryBeforeMb} → peak ${burst.memoryPeakMb} MB`,
          `flood: ${flood.frames} frames from one socket`,
          `  delivered ${flood.delivered} (${flood.duplicates} duplicates, ${flood.failures} failed invocations) in ${(flood.durationMs / 1000).toFixed(1)} s`,
          `  a handshake meanwhile: ${flood.handshakeDuringFloodMs} ms; its ping ${flood.pingAnswered ? `answered in ${flood.pingDuringFloodMs} ms` : 'NOT answered'}; ` +
            `memory ${flood.memoryBeforeMb} → peak ${flood.memoryPeakMb} MB`,
          `node ${environment.node}, ${environment.cpus} CPUs, at most ${environment.lambda.maxEnvironments} Lambda environments ` +
            `(${environment.lambda.maxEnvironmentsPerFunction} per function)`,
          '',
        ].join('\n'),
      );
    }
    const ok = burst.delivered === burst.expected && burst.duplicates === 0 && burst.failures === 0 &&
      flood.delivered === flood.frames && flood.duplicates === 0 && flood.failures === 0 && flood.pingAnswered;
    return ok ? 0 : 1;
  } finally {
    await gateway.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
