import { parseArgs } from 'node:util';
import { DEFAULT_MAX_ENVIRONMENTS, DEFAULT_MAX_ENVIRONMENTS_PER_FUNCTION } from './lambda-runtime';
import { DEFAULTS, LIMITS } from '../shared/contract';

/** Command-line flags of `cdk-websocket-chat-local` (`npm run dev`). */

export interface CliOptions {
  readonly help: boolean;
  readonly quiet: boolean;
  readonly port: number;
  readonly host: string;
  /** Undefined with `--app` and no `--stage`: the app's stage. */
  readonly stage?: string;
  readonly secret?: string;
  readonly idleTimeoutSeconds: number;
  readonly maxDurationSeconds: number;
  readonly persistDir?: string;
  readonly handlersDir?: string;
  /** Execution environments of all functions together (undefined: the gateway's default). */
  readonly maxEnvironments?: number;
  /** Execution environments of one function (undefined: the gateway's default). */
  readonly maxEnvironmentsPerFunction?: number;
  /** `--app`: a cloud assembly (or the app directory holding `cdk.out`) to run instead of the library's defaults. */
  readonly appDir?: string;
  /** `--stack`: which chat of the assembly (a stack, or `STACK/CHAT`). */
  readonly stack?: string;
  /** `--jwks-url`: the key set a `ChatAuth.jwks` app's authorizer fetches. */
  readonly jwksUrl?: string;
  /** `--env KEY=VALUE` (repeatable): set in every function's environment, over the app's values. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A bad command line: the CLI prints the message and the usage on stderr and exits non-zero. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `Usage: cdk-websocket-chat-local [options]
       cdk-websocket-chat-local publish (--room ID | --user ID | --connection ID) --type TYPE [--data JSON] [options]
       npm run dev -- [options]            (in the cdk-websocket-chat repository)

Runs the chat backend on this machine: a WebSocket endpoint and @connections API that behave like the
API Gateway stage, running the same handler bundles the construct deploys, on an embedded DynamoDB.

Options:
  --port <n>            port of the WebSocket endpoint and @connections API, 0 = any free port  [8080]
  --host <address>      interface to listen on                                                   [127.0.0.1]
  --stage <name>        stage name, the URL path: ws://host:port/<stage>               [${DEFAULTS.stageName}; --app: the app's]
  --secret <key>        HS256 key the authorizer verifies tokens with                            [random]
  --idle-timeout <s>    close a connection (1001) after this many seconds without client frames  [${LIMITS.idleTimeoutSeconds}]
  --max-duration <s>    close every connection (1001) this many seconds after it opened          [${LIMITS.maxConnectionSeconds}]
  --persist <dir>       keep the DynamoDB data in <dir> across restarts                          [in memory]
  --handlers <dir>      directory of handler bundles (<name>.lambda/index.js)                    [assets/handlers]
  --app <dir>           run your own app from its cloud assembly (cdk.out, or the app's directory):
                        its stage, routes (addRoute handlers too), auth and limits         [the library's defaults]
  --stack <name>        with --app: the stack (or STACK/CHAT) when the assembly has several chats
  --jwks-url <url>      with --app, for a ChatAuth.jwks app: the key set its authorizer fetches  [a local key pair's]
  --env <KEY=VALUE>     set KEY in every function's environment, over the app's value (repeatable)
  --max-environments <n>
                        Lambda execution environments of all functions together; beyond them
                        invocations queue (a deployed Lambda would throttle)                     [${DEFAULT_MAX_ENVIRONMENTS}]
  --max-environments-per-function <n>
                        execution environments of one function                                   [${DEFAULT_MAX_ENVIRONMENTS_PER_FUNCTION}]
  --quiet               print only the start-up banner (no activity or handler logs)
  -h, --help            show this help

publish: pushes an event through the running gateway's publish function (its Lambda Invoke API), prints the
answer, and exits non-zero on a function error or when no gateway answers.
  --room <id> | --user <id> | --connection <id>   the target (exactly one)
  --type <type>         the event type (1-128 characters)
  --data <json>         the event's data, any JSON                                               [none]
  --idempotency-key <k> deliver once within 5 minutes for this key
  --port <n>, --host <address>   where the gateway runs                                          [8080, 127.0.0.1]
`;

const STAGE_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** `node:util`'s strict flag parser (no positionals); a bad flag is a {@link UsageError}. */
function parseFlags(argv: readonly string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): Record<string, unknown> {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function parseCliArgs(argv: readonly string[]): CliOptions {
  const values = parseFlags(argv, {
    'port': { type: 'string' },
    'host': { type: 'string' },
    'stage': { type: 'string' },
    'secret': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'max-duration': { type: 'string' },
    'persist': { type: 'string' },
    'handlers': { type: 'string' },
    'max-environments': { type: 'string' },
    'max-environments-per-function': { type: 'string' },
    'app': { type: 'string' },
    'stack': { type: 'string' },
    'jwks-url': { type: 'string' },
    'env': { type: 'string', multiple: true },
    'quiet': { type: 'boolean' },
    'help': { type: 'boolean', short: 'h' },
  }) as Record<string, string | boolean | string[] | undefined>;
  const str = (name: string) => values[name] as string | undefined;
  const app = appOptions(str('app'), str('stack'), str('jwks-url'), values.env as unknown as string[] | undefined);

  const port = integerIn(str('port'), '--port', 0, 65535) ?? 8080;
  const host = str('host') ?? '127.0.0.1';
  if (host === '') throw new UsageError('--host must not be empty');
  // With --app, the app's own stage unless --stage says otherwise.
  const stage = str('stage') ?? (app.appDir === undefined ? DEFAULTS.stageName : undefined);
  if (stage !== undefined && !STAGE_PATTERN.test(stage)) throw new UsageError(`--stage "${stage}": use 1-128 letters, digits, '-' or '_'`);
  const secret = str('secret');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new UsageError('--secret must be at least 32 bytes (an HS256 key has at least 256 bits, RFC 7518)');
  }
  const persistDir = str('persist');
  if (persistDir === '') throw new UsageError('--persist needs a directory');
  const handlersDir = str('handlers');
  if (handlersDir === '') throw new UsageError('--handlers needs a directory');
  if (handlersDir !== undefined && app.appDir !== undefined) {
    throw new UsageError("--handlers does not apply with --app: the app's handlers come from its cloud assembly");
  }

  return {
    help: values.help === true,
    quiet: values.quiet === true,
    port,
    host,
    stage,
    secret,
    idleTimeoutSeconds: positiveSeconds(str('idle-timeout'), '--idle-timeout') ?? LIMITS.idleTimeoutSeconds,
    maxDurationSeconds: positiveSeconds(str('max-duration'), '--max-duration') ?? LIMITS.maxConnectionSeconds,
    persistDir,
    handlersDir,
    maxEnvironments: integerIn(str('max-environments'), '--max-environments', 1, 1024),
    maxEnvironmentsPerFunction: integerIn(str('max-environments-per-function'), '--max-environments-per-function', 1, 1024),
    ...app,
  };
}

/** Lambda's environment variable names. */
const ENV_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;

/** `--app`, `--stack`, `--jwks-url`, `--env`. */
function appOptions(
  appDir: string | undefined,
  stack: string | undefined,
  jwksUrl: string | undefined,
  envPairs: readonly string[] | undefined,
): Pick<CliOptions, 'appDir' | 'stack' | 'jwksUrl' | 'env'> {
  if (appDir === '') throw new UsageError('--app needs a directory (the cloud assembly cdk synth wrote, e.g. cdk.out)');
  if (stack !== undefined && (stack === '' || appDir === undefined)) throw new UsageError('--stack needs --app (it picks a chat of the cloud assembly)');
  if (jwksUrl !== undefined) {
    if (appDir === undefined) throw new UsageError("--jwks-url needs --app with a ChatAuth.jwks app (the library's defaults use HS256)");
    let protocol: string | undefined;
    try {
      protocol = new URL(jwksUrl).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new UsageError(`--jwks-url "${jwksUrl}": expected an http:// or https:// URL`);
  }
  let env: Record<string, string> | undefined;
  for (const pair of envPairs ?? []) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq);
    if (!ENV_KEY_PATTERN.test(key)) throw new UsageError(`--env "${pair}": expected KEY=VALUE (KEY: a letter, then letters, digits or '_')`);
    (env ??= {})[key] = pair.slice(eq + 1);
  }
  return { appDir, stack, jwksUrl, env };
}

/** `cdk-websocket-chat-local publish …` */
export interface PublishOptions {
  readonly help: boolean;
  readonly port: number;
  readonly host: string;
  /** The publish function's input (README, "Push from your backend"). */
  readonly payload: Record<string, unknown>;
}

/** Parses the arguments after `publish`. */
export function parsePublishArgs(argv: readonly string[]): PublishOptions {
  const values = parseFlags(argv, {
    'room': { type: 'string' },
    'user': { type: 'string' },
    'connection': { type: 'string' },
    'type': { type: 'string' },
    'data': { type: 'string' },
    'idempotency-key': { type: 'string' },
    'port': { type: 'string' },
    'host': { type: 'string' },
    'help': { type: 'boolean', short: 'h' },
  }) as Record<string, string | boolean | undefined>;
  const str = (name: string) => values[name] as string | undefined;
  if (values.help === true) return { help: true, port: 8080, host: '127.0.0.1', payload: {} };
  const targets = ([['room', 'room_id'], ['user', 'user_id'], ['connection', 'connection_id']] as const).filter(([flag]) => str(flag) !== undefined);
  if (targets.length !== 1) throw new UsageError('publish needs exactly one target: --room, --user or --connection');
  const [flag, field] = targets[0];
  const payload: Record<string, unknown> = { [field]: str(flag) };
  const type = str('type');
  if (type === undefined) throw new UsageError('publish needs --type');
  payload.type = type;
  const data = str('data');
  if (data !== undefined) {
    try {
      payload.data = JSON.parse(data);
    } catch (err) {
      throw new UsageError(`--data is not JSON: ${(err as Error).message}`);
    }
  }
  const key = str('idempotency-key');
  if (key !== undefined) payload.idempotency_key = key;
  const host = str('host') ?? '127.0.0.1';
  if (host === '') throw new UsageError('--host must not be empty');
  return { help: false, port: integerIn(str('port'), '--port', 1, 65535) ?? 8080, host, payload };
}

function integerIn(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag} "${text}": expected an integer from ${min} to ${max}`);
  }
  return Number(text);
}

function positiveSeconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  // Timers beyond ~24.8 days overflow setTimeout; API Gateway's own limits are far below that.
  if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0) || value > 2_000_000) {
    throw new UsageError(`${flag} "${text}": expected a positive number of seconds`);
  }
  return value;
}
