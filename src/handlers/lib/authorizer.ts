import { randomBytes } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createRemoteJWKSet } from 'jose';
import { readAuthConfig, type AuthConfig, type Env } from './config';
import { normalizeRoomsClaim, roomAllowed } from './events';
import { hs256Verifier, isTokenError, jwksVerifier, userIdFromClaims, type TokenVerifier } from './jwt';
import { createLogger, errorFields, type Logger } from './log';
import { loadSecretKey, RefreshingKey } from './secret-key';
import { AUTH_CONTEXT, AUTH_MODES, isValidRoomId, LIMITS } from '../../shared/contract';

/** The fields of an API Gateway WebSocket REQUEST authorizer event that the authorizer reads. */
export interface AuthorizerEvent {
  readonly methodArn: string;
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  readonly requestContext?: { readonly connectionId?: string; readonly requestId?: string; readonly apiId?: string } | null;
}

/**
 * The authorizer context handed to every route (`requestContext.authorizer`): the user, the handshake room (when
 * named) and the rooms claim, JSON-encoded (when rooms are restricted).
 */
export type AuthorizerContext = {
  readonly [AUTH_CONTEXT.userId]: string;
  readonly [AUTH_CONTEXT.roomId]?: string;
  readonly [AUTH_CONTEXT.rooms]?: string;
};

/** An IAM policy answer: Allow (with the context) or Deny (API Gateway answers 403). */
export interface AuthorizerResult {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: '2012-10-17';
    readonly Statement: ReadonlyArray<{ readonly Action: 'execute-api:Invoke'; readonly Effect: 'Allow' | 'Deny'; readonly Resource: string }>;
  };
  readonly context?: AuthorizerContext;
}

/** Why a connection was let in or turned away (logged; never the token). */
export type AuthReason =
  | 'allowed'
  | 'token_missing'
  | 'token_invalid'
  | 'user_claim_invalid'
  | 'room_invalid'
  | 'room_forbidden'
  | 'rooms_claim_too_large'
  | 'token_lifetime';

export type AuthDecision =
  | { readonly effect: 'Allow'; readonly reason: 'allowed'; readonly userId: string; readonly roomId?: string; readonly rooms?: string }
  | { readonly effect: 'Deny'; readonly reason: 'room_invalid' | 'room_forbidden' | 'rooms_claim_too_large'; readonly userId: string }
  | { readonly effect: 'Unauthorized'; readonly reason: 'token_missing' | 'token_invalid' | 'user_claim_invalid' | 'token_lifetime'; readonly detail?: string };

export interface AuthorizerDeps {
  readonly config: AuthConfig;
  /** Checks tokens (hs256 / jwks modes). */
  readonly verify?: TokenVerifier;
  readonly log: Logger;
  /** Anonymous user ids (none mode). */
  readonly anonymousId?: () => string;
  /** @default Date.now */
  readonly now?: () => number;
}

export type TokenSource = 'query' | 'header';

/**
 * The token: the `token` query parameter (the identity source API Gateway requires, and the only one a browser
 * can set), else an `Authorization: Bearer …` header.
 */
export function extractToken(event: AuthorizerEvent): { readonly token: string; readonly source: TokenSource } | undefined {
  const query = event.queryStringParameters?.token;
  if (typeof query === 'string' && query.length > 0) return { token: query, source: 'query' };
  const header = headerValue(event.headers, 'authorization');
  const match = header === undefined ? null : /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match ? { token: match[1], source: 'header' } : undefined;
}

/**
 * Decides on a `$connect`: a verified token with a usable user-id claim (else Unauthorized → 401); then, when the
 * handshake names a `room_id` (optional), a well-formed one that the rooms claim (if configured) allows (else Deny
 * → 403). The rooms claim itself travels to every route in the context (a claim over 6 KB → 403: the whole context
 * must stay under API Gateway's 8 KB). A `user_id` query parameter is never read.
 */
export async function decide(event: AuthorizerEvent, deps: AuthorizerDeps): Promise<AuthDecision> {
  const { config } = deps;
  const rawRoom = event.queryStringParameters?.room_id;
  const roomId = rawRoom === undefined || rawRoom === null ? undefined : rawRoom;
  if (config.mode === AUTH_MODES.none) {
    const userId = (deps.anonymousId ?? anonymousUserId)();
    if (roomId !== undefined && !isValidRoomId(roomId)) return { effect: 'Deny', reason: 'room_invalid', userId };
    return { effect: 'Allow', reason: 'allowed', userId, ...(roomId !== undefined ? { roomId } : {}) };
  }

  const found = extractToken(event);
  if (!found) return { effect: 'Unauthorized', reason: 'token_missing' };
  if (!deps.verify) throw new Error('no token verifier configured');
  let claims;
  try {
    claims = await deps.verify(found.token);
  } catch (err) {
    if (isTokenError(err)) return { effect: 'Unauthorized', reason: 'token_invalid', detail: (err as { code: string }).code };
    throw err;
  }
  const lifetime = checkLifetime(claims, config, (deps.now ?? Date.now)());
  if (lifetime) return { effect: 'Unauthorized', reason: 'token_lifetime', detail: lifetime };
  const userId = userIdFromClaims(claims, config.userIdClaim);
  if (userId === undefined) return { effect: 'Unauthorized', reason: 'user_claim_invalid' };
  if (roomId !== undefined && !isValidRoomId(roomId)) return { effect: 'Deny', reason: 'room_invalid', userId };
  let rooms: string | undefined;
  if (config.roomsClaim) {
    const claim = Object.prototype.hasOwnProperty.call(claims, config.roomsClaim) ? claims[config.roomsClaim] : undefined;
    const normalized = normalizeRoomsClaim(claim) ?? [];
    rooms = JSON.stringify(normalized);
    if (Buffer.byteLength(rooms, 'utf8') > LIMITS.maxRoomsClaimBytes) return { effect: 'Deny', reason: 'rooms_claim_too_large', userId };
    if (roomId !== undefined && !roomAllowed(normalized, roomId)) return { effect: 'Deny', reason: 'room_forbidden', userId };
  }
  return { effect: 'Allow', reason: 'allowed', userId, ...(roomId !== undefined ? { roomId } : {}), ...(rooms !== undefined ? { rooms } : {}) };
}

/**
 * The optional lifetime rules: `exp − iat` at most `maxTokenLifetimeSeconds` (then `iat` is required), and no `iat`
 * in the future beyond the clock tolerance. Returns why a token fails them, or undefined.
 */
export function checkLifetime(claims: { iat?: unknown; exp?: unknown }, config: AuthConfig, nowMs: number): string | undefined {
  const iat = typeof claims.iat === 'number' ? claims.iat : undefined;
  if (config.rejectFutureIat && iat !== undefined && iat > nowMs / 1000 + config.clockToleranceSeconds) return 'iat_in_future';
  if (config.maxTokenLifetimeSeconds !== undefined) {
    if (iat === undefined) return 'iat_missing';
    if (typeof claims.exp === 'number' && claims.exp - iat > config.maxTokenLifetimeSeconds) return 'lifetime_too_long';
  }
  return undefined;
}

/** The IAM policy for an Allow / Deny decision, on the `$connect` method ARN. */
export function toPolicy(decision: Extract<AuthDecision, { effect: 'Allow' | 'Deny' }>, methodArn: string): AuthorizerResult {
  const policyDocument = {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: decision.effect, Resource: methodArn }],
  } as const;
  if (decision.effect === 'Deny') return { principalId: decision.userId, policyDocument };
  return {
    principalId: decision.userId,
    policyDocument,
    context: {
      [AUTH_CONTEXT.userId]: decision.userId,
      ...(decision.roomId !== undefined ? { [AUTH_CONTEXT.roomId]: decision.roomId } : {}),
      ...(decision.rooms !== undefined ? { [AUTH_CONTEXT.rooms]: decision.rooms } : {}),
    },
  };
}

/**
 * The authorizer: logs one line per decision, returns an Allow / Deny policy, and throws `Unauthorized`
 * (API Gateway's 401) for a missing or invalid token. Any other error (secret or key set unavailable) is
 * rethrown: API Gateway answers 500 and nothing is let in.
 */
export async function authorize(event: AuthorizerEvent, deps: AuthorizerDeps): Promise<AuthorizerResult> {
  const base = {
    event: 'authorize',
    mode: deps.config.mode,
    connectionId: event.requestContext?.connectionId,
    requestId: event.requestContext?.requestId,
    tokenSource: deps.config.mode === AUTH_MODES.none ? undefined : extractToken(event)?.source,
  };
  let decision: AuthDecision;
  try {
    decision = await decide(event, deps);
  } catch (err) {
    deps.log({ level: 'error', ...base, decision: 'error', reason: 'verifier_unavailable', ...errorFields(err) });
    throw err;
  }
  if (decision.effect === 'Unauthorized') {
    deps.log({ level: 'info', ...base, decision: 'unauthorized', reason: decision.reason, detail: decision.detail });
    throw new Error('Unauthorized');
  }
  const roomId = decision.effect === 'Allow' ? decision.roomId : undefined;
  deps.log({ level: 'info', ...base, decision: decision.effect === 'Allow' ? 'allow' : 'deny', reason: decision.reason, userId: decision.userId, roomId });
  return toPolicy(decision, event.methodArn);
}

/** Builds the authorizer's dependencies from the environment: a secret-backed key or a remote JWKS, in module scope. */
export function authorizerDepsFromEnv(env: Env = process.env, log: Logger = createLogger()): AuthorizerDeps {
  const config = readAuthConfig(env);
  switch (config.mode) {
    case AUTH_MODES.hs256: {
      const client = new SecretsManagerClient({});
      // Both versions are read again after at most KEY_MAX_AGE_MS: a key retired by a rotation stops working.
      const key = new RefreshingKey(() => loadSecretKey(client, config.secretArn!, config.secretField), { maxAgeMs: KEY_MAX_AGE_MS });
      // During a rotation, tokens signed with the previous key stay valid until they expire.
      const previous = new RefreshingKey(
        () => loadSecretKey(client, config.secretArn!, config.secretField, 'AWSPREVIOUS'),
        { maxAgeMs: KEY_MAX_AGE_MS },
      );
      return { config, log, verify: hs256Verifier(key, config, previous) };
    }
    case AUTH_MODES.jwks:
      // Re-fetched at most once a minute (an unknown `kid` after a key rotation), and never waited on for long.
      return {
        config,
        log,
        verify: jwksVerifier(createRemoteJWKSet(new URL(config.jwksUrl!), { cooldownDuration: 60_000, timeoutDuration: 3000 }), config),
      };
    default:
      return { config, log };
  }
}

/** How long a warm authorizer trusts its cached HS256 keys before it reads the secret again. */
export const KEY_MAX_AGE_MS = 5 * 60_000;

/** `anon-` and 12 random hex digits (none mode). */
export function anonymousUserId(): string {
  return `anon-${randomBytes(6).toString('hex')}`;
}

function headerValue(headers: AuthorizerEvent['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}
