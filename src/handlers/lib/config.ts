import { ACTIONS, AUTH_MODES, DEFAULTS, ENV } from '../../shared/contract';

/** The process environment, or any map of the same shape (tests pass their own). */
export type Env = Readonly<Record<string, string | undefined>>;

/** A missing or malformed environment variable: a deployment error, reported loudly at cold start. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Settings of the route handlers (`$connect`, `$disconnect`, `sendMessage`, `ping`, `$default`). */
export interface RouteConfig {
  /** Connections table name (`CONNECTIONS_TABLE`). */
  readonly tableName: string;
  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}` (`MANAGEMENT_ENDPOINT`). */
  readonly managementEndpoint: string;
  readonly connectionTtlSeconds: number;
  readonly maxMessageBytes: number;
  readonly fanoutConcurrency: number;
  readonly postMaxAttempts: number;
  readonly postTimeoutMs: number;
  readonly postBackoffBaseMs: number;
  readonly metricsNamespace: string;
  /** Every valid client action (`VALID_ACTIONS`: built-in and `addRoute` ones), listed by `$default`. */
  readonly validActions: readonly string[];
  /** Messages table (`MESSAGES_TABLE`); undefined = history off. */
  readonly messagesTable?: string;
  readonly historyRetentionSeconds: number;
  readonly maxRoomsPerConnection: number;
  /** Rooms up to this many connections get member_joined / member_left; 0 = none. */
  readonly presenceEventsMaxConnections: number;
  /** The fan-out worker function (`FANOUT_WORKER_FUNCTION`); undefined = no sharding. */
  readonly fanoutWorkerFunction?: string;
  readonly shardThreshold: number;
  readonly maxFanoutWorkers: number;
  readonly fanoutRateBudget: number;
}

export type AuthMode = (typeof AUTH_MODES)[keyof typeof AUTH_MODES];

/** Settings of the `$connect` authorizer. */
export interface AuthConfig {
  readonly mode: AuthMode;
  /** hs256: ARN (or name) of the secret holding the key. */
  readonly secretArn?: string;
  /** hs256: JSON field of the SecretString holding the key; undefined = the whole SecretString. */
  readonly secretField?: string;
  /** jwks: URL of the key set. */
  readonly jwksUrl?: string;
  readonly issuer?: string;
  /** Accepted audiences; empty = `aud` not checked. */
  readonly audience: readonly string[];
  /** Accepted `alg` values (pinned: `HS256` in hs256 mode). */
  readonly algorithms: readonly string[];
  readonly userIdClaim: string;
  /** Claim listing the rooms the user may join; undefined = rooms not checked. */
  readonly roomsClaim?: string;
  readonly clockToleranceSeconds: number;
  /** Longest accepted `exp − iat`, in seconds; undefined = not checked. */
  readonly maxTokenLifetimeSeconds?: number;
  /** Refuse a token whose `iat` lies in the future beyond the tolerance. */
  readonly rejectFutureIat: boolean;
}

/** Reads the route handlers' settings; every optional value falls back to the contract `DEFAULTS`. */
export function readRouteConfig(env: Env = process.env): RouteConfig {
  return {
    tableName: str(env, ENV.connectionsTable) ?? '',
    managementEndpoint: str(env, ENV.managementEndpoint) ?? '',
    connectionTtlSeconds: int(env, ENV.connectionTtlSeconds, DEFAULTS.connectionTtlSeconds, 60),
    maxMessageBytes: int(env, ENV.maxMessageBytes, DEFAULTS.maxMessageBytes, 1),
    fanoutConcurrency: int(env, ENV.fanoutConcurrency, DEFAULTS.fanoutConcurrency, 1),
    postMaxAttempts: int(env, ENV.postMaxAttempts, DEFAULTS.postMaxAttempts, 1),
    postTimeoutMs: int(env, ENV.postTimeoutMs, DEFAULTS.postTimeoutMs, 1),
    postBackoffBaseMs: int(env, ENV.postBackoffBaseMs, DEFAULTS.postBackoffBaseMs, 0),
    metricsNamespace: str(env, ENV.metricsNamespace) ?? DEFAULTS.metricsNamespace,
    validActions: list(env, ENV.validActions).length > 0 ? list(env, ENV.validActions) : Object.values(ACTIONS),
    messagesTable: str(env, ENV.messagesTable),
    historyRetentionSeconds: int(env, ENV.historyRetentionSeconds, DEFAULTS.historyRetentionSeconds, 60),
    maxRoomsPerConnection: int(env, ENV.maxRoomsPerConnection, DEFAULTS.maxRoomsPerConnection, 1),
    presenceEventsMaxConnections: int(env, ENV.presenceEventsMaxConnections, DEFAULTS.presenceEventsMaxConnections, 0),
    fanoutWorkerFunction: str(env, ENV.fanoutWorkerFunction),
    shardThreshold: int(env, ENV.shardThreshold, DEFAULTS.shardThreshold, 1),
    maxFanoutWorkers: int(env, ENV.maxFanoutWorkers, DEFAULTS.maxFanoutWorkers, 1),
    fanoutRateBudget: int(env, ENV.fanoutRateBudget, DEFAULTS.fanoutRateBudget, 1),
  };
}

/** Reads and validates the authorizer's settings. Throws {@link ConfigError} on an incomplete configuration. */
export function readAuthConfig(env: Env = process.env): AuthConfig {
  const mode = str(env, ENV.authMode);
  const common = {
    issuer: str(env, ENV.authIssuer),
    audience: list(env, ENV.authAudience),
    userIdClaim: str(env, ENV.userIdClaim) ?? DEFAULTS.userIdClaim,
    roomsClaim: str(env, ENV.roomsClaim),
    clockToleranceSeconds: int(env, ENV.clockToleranceSeconds, DEFAULTS.clockToleranceSeconds, 0),
    maxTokenLifetimeSeconds: str(env, ENV.maxTokenLifetimeSeconds) === undefined ? undefined : int(env, ENV.maxTokenLifetimeSeconds, 0, 1),
    rejectFutureIat: str(env, ENV.rejectFutureIat) === 'true',
  };
  switch (mode) {
    case AUTH_MODES.hs256:
      return {
        ...common,
        mode,
        secretArn: required(env, ENV.authSecretArn),
        secretField: str(env, ENV.authSecretField),
        algorithms: ['HS256'],
      };
    case AUTH_MODES.jwks: {
      const jwksUrl = required(env, ENV.authJwksUrl);
      try {
        new URL(jwksUrl);
      } catch {
        throw new ConfigError(`${ENV.authJwksUrl} is not a URL`);
      }
      const algorithms = list(env, ENV.authAlgorithms);
      if (algorithms.some((alg) => alg.toUpperCase().startsWith('HS') || alg.toLowerCase() === 'none')) {
        throw new ConfigError(`${ENV.authAlgorithms} must list asymmetric algorithms only (jwks mode)`);
      }
      return { ...common, mode, jwksUrl, algorithms: algorithms.length > 0 ? algorithms : ['RS256'] };
    }
    case AUTH_MODES.none:
      return { ...common, mode, algorithms: [] };
    default:
      throw new ConfigError(`${ENV.authMode} must be one of ${Object.values(AUTH_MODES).join(', ')}`);
  }
}

/** The value of a variable the caller cannot work without. */
export function requireSetting(value: string, name: string): string {
  if (!value) throw new ConfigError(`${name} is not set`);
  return value;
}

function str(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  return requireSetting(str(env, name) ?? '', name);
}

function list(env: Env, name: string): string[] {
  return (str(env, name) ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function int(env: Env, name: string, fallback: number, min: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  }
  return value;
}
