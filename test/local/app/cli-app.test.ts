import { Fn } from 'aws-cdk-lib';
import { chatStack, queryFunction } from './chat-app';
import { removeSynthesizedApps, synth } from './synth';
import { spawnCli, type CliProcess } from '../../support/cli-process';
import { TestClient } from '../../support/ws-client';

/** `cdk-websocket-chat-local --app <dir>` as a user runs it: the bundled CLI, its banner, its warnings, its errors. */

const running: CliProcess[] = [];
afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  }
});
afterAll(removeSynthesizedApps);

/** Resolves once stderr matches (it is written after the banner), or fails after `timeoutMs`. */
async function stderrMatching(cli: CliProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(cli.stderr())) {
    if (Date.now() > deadline) throw new Error(`stderr never matched ${pattern}:\n${cli.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return cli.stderr();
}

function start(args: string[]): CliProcess {
  const cli = spawnCli(args);
  running.push(cli);
  return cli;
}

const withRoute = synth((app) => {
  chatStack(app, 'CliApp', { stageName: 'local' }, (stack, chat) => {
    chat.addRoute('query', queryFunction(stack, 'Query', { GREETING: Fn.importValue('Greeting') }));
  });
}, { nodeModules: true });

test('--app runs the app: the banner names it, its stage and route work with the printed wscat URLs; --env sets a variable', async () => {
  const cli = start(['--app', withRoute.outdir, '--port', '0', '--quiet', '--env', 'GREETING=hi from the CLI']);
  await cli.waitForStdout(/Press Ctrl\+C to stop/);
  const out = cli.stdout();
  expect(out).toMatch(new RegExp(`App\\s+${withRoute.outdir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(stack CliApp\\)`));
  const url = out.match(/WebSocket URL\s+(ws:\/\/\S+)/)![1];
  expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/local$/);
  const wscat = [...out.matchAll(/npx wscat -c '([^']+)'/g)].map((m) => m[1]);
  const alice = await TestClient.connect(wscat[0]);
  alice.send({ action: 'query', q: 'from the CLI' });
  const [answer] = await alice.waitFor((f) => f.action === 'queryResult');
  expect(answer).toMatchObject({ question: 'from the CLI', user_id: 'alice', greeting: 'hi from the CLI' });
  expect(cli.stderr()).not.toMatch(/warning: GREETING/);
  alice.ws.close();
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toEqual({ code: 0, signal: null });
});

test('what the app leaves unresolved is a warning on stderr that names the fix', async () => {
  const cli = start(['--app', withRoute.appDir, '--port', '0', '--quiet']);
  await cli.waitForStdout(/Press Ctrl\+C to stop/);
  await stderrMatching(cli, /^warning: GREETING of function Query \(Query[0-9A-F]+\) is Fn::ImportValue Greeting .*set it with --env GREETING=VALUE$/m);
});

test('several chats: exit 1, listing the --stack choices; --stack picks one', async () => {
  const two = synth((app) => {
    chatStack(app, 'One');
    chatStack(app, 'Two', { stageName: 'two' });
  });
  const refused = start(['--app', two.outdir, '--port', '0']);
  expect(await refused.exited).toEqual({ code: 1, signal: null });
  expect(refused.stderr()).toBe(`error: ${two.outdir} has 2 WebSocketChats; pick one with --stack:\n  --stack One\n  --stack Two\n`);

  const picked = start(['--app', two.outdir, '--stack', 'Two', '--port', '0', '--quiet']);
  await picked.waitForStdout(/Press Ctrl\+C to stop/);
  expect(picked.stdout()).toMatch(/WebSocket URL\s+ws:\/\/127\.0\.0\.1:\d+\/two\s/);
});

test('not a cloud assembly, or a bad flag: an error, no gateway', async () => {
  const notAssembly = start(['--app', withRoute.appDir + '/nowhere', '--port', '0']);
  expect(await notAssembly.exited).toEqual({ code: 1, signal: null });
  expect(notAssembly.stderr()).toMatch(/^error: --app .*nowhere: no such directory\. Run `cdk synth`/);

  const usage = start(['--stack', 'One', '--port', '0']);
  expect(await usage.exited).toEqual({ code: 2, signal: null });
  expect(usage.stderr()).toMatch(/^error: --stack needs --app/);
});
