import { AppLoadError } from './app/errors';
import { loadCloudAssemblyApp } from './app/load-app';
import type { LocalAppSpec } from './app-model';
import { parseCliArgs, parsePublishArgs, UsageError, USAGE, type CliOptions } from './args';
import { formatBanner, networkExposureWarning } from './banner';
import { DEV_TOKEN_TTL_SECONDS } from './dev-token';
import { GatewayListenError, startLocalGateway, type LocalGateway } from './gateway';
import { PAGE_ASSETS } from './page/assets';
import { runPublish } from './publish-command';

/**
 * `cdk-websocket-chat-local` / `npm run dev`: parses the flags, starts the local gateway, prints where to
 * connect, and shuts down cleanly on SIGINT / SIGTERM. Bundled by esbuild to `assets/local/cli/index.js`.
 */

const DEV_USERS = ['alice', 'bob'];
const DEV_ROOM = 'lobby';

async function main(argv: readonly string[]): Promise<number | undefined> {
  if (argv[0] === 'publish') return publish(argv.slice(1));
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  // The gateway's own SDK client (table creation) would warn about the local Node.js version: not the user's concern.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const log = options.quiet ? undefined : (line: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
  // --app: the user's own synthesized app instead of the library's defaults.
  let app: LocalAppSpec | undefined;
  if (options.appDir !== undefined) {
    try {
      app = loadCloudAssemblyApp(options.appDir, { stack: options.stack, env: options.env, jwksUrl: options.jwksUrl });
    } catch (err) {
      if (!(err instanceof AppLoadError)) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
  }
  let gateway: LocalGateway;
  try {
    gateway = await startLocalGateway({
      app,
      jwksUrl: options.jwksUrl,
      // (With --app the loader has set --env in every function, and left unresolved variables out of its warnings.)
      handlerEnv: app ? undefined : options.env,
      port: options.port,
      host: options.host,
      stage: options.stage,
      secret: options.secret,
      idleTimeoutSeconds: options.idleTimeoutSeconds,
      maxDurationSeconds: options.maxDurationSeconds,
      persistDir: options.persistDir,
      handlersDir: options.handlersDir,
      maxEnvironments: options.maxEnvironments,
      maxEnvironmentsPerFunction: options.maxEnvironmentsPerFunction,
      handlerOutput: options.quiet ? 'ignore' : 'inherit',
      log,
      // The browser chat page, and the dev-token endpoint it gets its tokens from (local development only).
      page: PAGE_ASSETS,
      devTokenEndpoint: true,
    });
  } catch (err) {
    const hint = err instanceof GatewayListenError && err.code === 'EADDRINUSE' ? ' — stop the other process, or pick another port with --port (0 = any free port)' : '';
    process.stderr.write(`error: ${(err as Error).message}${hint}\n`);
    return 1;
  }

  const tokens: Record<string, string> = {};
  if (gateway.auth.canSign) for (const user of DEV_USERS) tokens[user] = gateway.devToken(user);
  const stats = gateway.lambdaStats();
  process.stdout.write(
    formatBanner({
      url: gateway.url,
      managementEndpoint: gateway.managementEndpoint,
      lambdaEndpoint: gateway.lambdaEndpoint,
      functionNames: Object.keys(stats.byFunction),
      pageUrl: gateway.pageUrl,
      devTokenEndpoint: gateway.auth.canSign,
      dynamoEndpoint: gateway.dynamoEndpoint,
      tableName: gateway.tableName,
      persistDir: options.persistDir,
      appSource: gateway.app.source,
      handlersDir: gateway.handlersDir,
      idleTimeoutSeconds: options.idleTimeoutSeconds,
      maxDurationSeconds: options.maxDurationSeconds,
      maxEnvironments: stats.maxEnvironments,
      maxEnvironmentsPerFunction: stats.maxEnvironmentsPerFunction,
      authMode: gateway.auth.mode,
      jwksUrl: gateway.auth.jwksUrl,
      generatedSecret: gateway.auth.mode === 'hs256' && options.secret === undefined ? gateway.secret : undefined,
      tokenTtlSeconds: DEV_TOKEN_TTL_SECONDS,
      tokens,
      users: DEV_USERS,
      room: DEV_ROOM,
      port: gateway.port,
      quote: process.platform === 'win32' ? '"' : "'",
    }) + '\n',
  );
  for (const warning of gateway.warnings) process.stderr.write(`warning: ${warning}\n`);
  const exposure = networkExposureWarning(options.host);
  if (exposure) process.stderr.write(`${exposure}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without a clean shutdown\n`);
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: closing connections (1001) and stopping…\n`);
    gateway.close().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`error during shutdown: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return undefined;
}

/** `publish …`: one invocation of the running gateway's publish function. */
async function publish(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parsePublishArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const outcome = await runPublish(options);
  if (outcome.stdout !== undefined) process.stdout.write(`${outcome.stdout}\n`);
  if (outcome.stderr !== undefined) process.stderr.write(`${outcome.stderr}\n`);
  return outcome.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
