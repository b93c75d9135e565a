import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { EnvValue, LocalAppSpec, LocalAuth, LocalFunctionSpec } from './app-model';
import { DEFAULTS, ENV } from '../shared/contract';
import {
  activeHandlers,
  activeTables,
  clientActions,
  identitySources,
  routeTable,
  TIMEOUT_SECONDS,
  type HandlerId,
  type HandlerSpec,
  type TableId,
} from '../shared/spec';

/**
 * The library's defaults as a `LocalAppSpec`: what `WebSocketChat` deploys with its default props, built from the
 * shared spec (handlers, routes, tables, identity sources, each handler's environment list) — never a second
 * copy of it. The gateway runs this when it is given no app (no `--app`).
 */

export interface DefaultAppOptions {
  /** Directory of the handler bundles (`{bundle}.lambda/index.js`). @default - the package's `assets/handlers` */
  readonly handlersDir?: string;
  /** @default 'dev' */
  readonly stage?: string;
  /** Message history (the messages table and the `history` route). @default true */
  readonly history?: boolean;
  /** @default - hs256, the whole SecretString is the key, user id in `sub`, no issuer / audience / rooms claim */
  readonly auth?: LocalAuth;
  /** Local table names. @default - `websocket-chat-connections`, `websocket-chat-messages` */
  readonly tableNames?: Partial<Readonly<Record<TableId, string>>>;
}

/** The auth of the library's defaults in the gateway: HS256 with a key in the (local) secret. */
export const DEFAULT_AUTH: LocalAuth = { mode: 'hs256', audience: [], userIdClaim: DEFAULTS.userIdClaim };

/** Local table names of the defaults. */
export const DEFAULT_TABLE_NAMES: Readonly<Record<TableId, string>> = {
  connections: 'websocket-chat-connections',
  messages: 'websocket-chat-messages',
};

/** The code file of a bundle: `{handlersDir}/{bundle}.lambda/index.js`. */
export function handlerFile(handlersDir: string, bundle: string): string {
  return path.join(handlersDir, `${bundle}.lambda`, 'index.js');
}

/**
 * The directory of the handler bundles: `assets/handlers`, found from this file's location — from the CLI bundle
 * (`assets/local/cli/index.js`) it is `../../handlers`; from the TypeScript sources (`src/local/`) it is
 * `../../assets/handlers`.
 */
export function defaultHandlersDir(): string {
  const candidates = [path.resolve(__dirname, '../../handlers'), path.resolve(__dirname, '../../assets/handlers')];
  return candidates.find((dir) => existsSync(handlerFile(dir, 'authorizer'))) ?? candidates[0];
}

/** The local name of a built-in handler: its spec id (`sendMessage`, `publish`, `fanoutWorker`, …). */
export function localFunctionName(id: HandlerId): string {
  return id;
}

export function defaultApp(options: DefaultAppOptions = {}): LocalAppSpec {
  const history = options.history ?? true;
  const handlersDir = options.handlersDir ?? defaultHandlersDir();
  const auth = options.auth ?? DEFAULT_AUTH;
  const handlers = activeHandlers(history);
  const warnings: string[] = [];
  const context: EnvContext = { auth, history };

  const functions: LocalFunctionSpec[] = handlers.map((h) => {
    const env: Record<string, EnvValue> = {};
    for (const name of h.env) {
      const value = builtInEnvValue(name, context);
      if (value === UNKNOWN) warnings.push(`${name} of ${h.id}: no local value is known for it; it is left unset`);
      else if (value !== undefined) env[name] = value;
    }
    return {
      name: localFunctionName(h.id),
      // Also reachable by its bundle name (`send-message`, `fanout-worker`) and its construct id.
      aliases: [...new Set([h.bundle, h.constructId])].filter((alias) => alias !== h.id),
      codeDir: path.dirname(handlerFile(handlersDir, h.bundle)),
      handler: 'index.handler',
      env,
      timeoutSeconds: TIMEOUT_SECONDS[h.size],
      builtIn: h.id,
    };
  });

  const byBundle = new Map<string, HandlerSpec>(handlers.map((h) => [h.bundle, h]));
  const routes: Record<string, string> = {};
  for (const [routeKey, bundle] of Object.entries(routeTable(history))) {
    routes[routeKey] = localFunctionName(byBundle.get(bundle)!.id);
  }

  return {
    source: 'library defaults',
    stage: options.stage ?? DEFAULTS.stageName,
    functions,
    routes,
    authorizer: { functionName: localFunctionName('authorizer'), identitySource: identitySources(auth.mode) },
    tables: activeTables(history).map((spec) => ({ spec, name: options.tableNames?.[spec.id] ?? DEFAULT_TABLE_NAMES[spec.id] })),
    auth,
    maxMessageBytes: DEFAULTS.maxMessageBytes,
    warnings,
  };
}

interface EnvContext {
  readonly auth: LocalAuth;
  readonly history: boolean;
}

/** A variable the defaults do not know (a new one in the spec): reported as a warning, left unset. */
const UNKNOWN = Symbol('unknown');

/**
 * The value of a built-in handler's environment variable in the defaults: a contract default, an auth setting, a
 * placeholder for what only the running gateway knows, or undefined (deliberately unset, as the construct leaves
 * it by default).
 */
function builtInEnvValue(name: string, { auth, history }: EnvContext): EnvValue | undefined | typeof UNKNOWN {
  const authed = auth.mode === 'none' ? undefined : auth;
  switch (name) {
    case ENV.connectionsTable: return { local: 'connectionsTable' };
    case ENV.messagesTable: return history ? { local: 'messagesTable' } : undefined;
    case ENV.managementEndpoint: return { local: 'managementEndpoint' };
    case ENV.fanoutWorkerFunction: return { localFunction: localFunctionName('fanoutWorker') };
    case ENV.historyRetentionSeconds: return String(DEFAULTS.historyRetentionSeconds);
    case ENV.maxRoomsPerConnection: return String(DEFAULTS.maxRoomsPerConnection);
    case ENV.presenceEventsMaxConnections: return String(DEFAULTS.presenceEventsMaxConnections);
    case ENV.shardThreshold: return String(DEFAULTS.shardThreshold);
    case ENV.maxFanoutWorkers: return String(DEFAULTS.maxFanoutWorkers);
    case ENV.fanoutRateBudget: return String(DEFAULTS.fanoutRateBudget);
    case ENV.connectionTtlSeconds: return String(DEFAULTS.connectionTtlSeconds);
    case ENV.maxMessageBytes: return String(DEFAULTS.maxMessageBytes);
    case ENV.fanoutConcurrency: return String(DEFAULTS.fanoutConcurrency);
    case ENV.postMaxAttempts: return String(DEFAULTS.postMaxAttempts);
    case ENV.postTimeoutMs: return String(DEFAULTS.postTimeoutMs);
    case ENV.postBackoffBaseMs: return String(DEFAULTS.postBackoffBaseMs);
    case ENV.metricsNamespace: return DEFAULTS.metricsNamespace;
    case ENV.validActions: return clientActions(history).join(',');
    // The authorizer.
    case ENV.authMode: return auth.mode;
    case ENV.authSecretArn: return auth.mode === 'hs256' ? { local: 'authSecretArn' } : undefined;
    case ENV.authSecretField: return auth.mode === 'hs256' ? auth.secretField : undefined;
    case ENV.authJwksUrl: return auth.mode === 'jwks' ? { local: 'jwksUrl' } : undefined;
    case ENV.authAlgorithms: return auth.mode === 'jwks' ? auth.algorithms.join(',') : undefined;
    case ENV.authIssuer: return authed?.issuer;
    case ENV.authAudience: return authed && authed.audience.length > 0 ? authed.audience.join(',') : undefined;
    case ENV.userIdClaim: return authed?.userIdClaim ?? DEFAULTS.userIdClaim;
    case ENV.roomsClaim: return authed?.roomsClaim;
    case ENV.clockToleranceSeconds: return String(DEFAULTS.clockToleranceSeconds);
    // Not set by default (no lifetime cap, `iat` in the future not refused).
    case ENV.maxTokenLifetimeSeconds: return undefined;
    case ENV.rejectFutureIat: return undefined;
    default: return UNKNOWN;
  }
}
