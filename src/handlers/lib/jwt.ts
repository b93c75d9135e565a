import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { RefreshingKey } from './secret-key';
import { LIMITS } from '../../shared/contract';

/** What a token must satisfy, besides its signature. */
export interface TokenPolicy {
  /** Accepted `alg` values; always pinned, so `alg: none` and HS/RS confusion fail. */
  readonly algorithms: readonly string[];
  readonly issuer?: string;
  /** Accepted audiences; empty = `aud` not checked. */
  readonly audience: readonly string[];
  readonly clockToleranceSeconds: number;
}

/** Verifies a compact JWT and returns its claims; rejects with a jose error for a bad token. */
export type TokenVerifier = (token: string) => Promise<JWTPayload>;

/** jose options for a policy: pinned algorithms; `exp` / `nbf` checked with the tolerance; `iss` / `aud` when set. */
export function verifyOptions(policy: TokenPolicy): JWTVerifyOptions {
  if (policy.algorithms.length === 0) throw new Error('no algorithms allowed');
  return {
    algorithms: [...policy.algorithms],
    // A token that never expires would be a standing credential in URLs and logs: exp is required.
    requiredClaims: ['exp'],
    clockTolerance: policy.clockToleranceSeconds,
    ...(policy.issuer ? { issuer: policy.issuer } : {}),
    ...(policy.audience.length > 0 ? { audience: [...policy.audience] } : {}),
  };
}

/**
 * HS256 verification with a key from Secrets Manager. When the signature does not match, the secret's previous
 * version (`AWSPREVIOUS`, while a rotation is under way: tokens signed before it stay valid until they expire) is
 * tried, then the current key is reloaded (rate-limited by the {@link RefreshingKey}) and tried once more, so rotating
 * the secret works without a redeploy.
 */
export function hs256Verifier(key: RefreshingKey, policy: TokenPolicy, previous?: RefreshingKey): TokenVerifier {
  const options = verifyOptions({ ...policy, algorithms: ['HS256'] });
  return async (token) => {
    const current = await key.current();
    try {
      return (await jwtVerify(token, current, options)).payload;
    } catch (err) {
      if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw err;
      const tried: Uint8Array[] = [current];
      /** Verifies with `candidate` unless it was tried already; undefined when its signature does not match. */
      const attempt = async (candidate: Uint8Array | undefined) => {
        if (!candidate || tried.some((k) => sameBytes(k, candidate))) return undefined;
        tried.push(candidate);
        try {
          return (await jwtVerify(token, candidate, options)).payload;
        } catch (retryErr) {
          if (!(retryErr instanceof errors.JWSSignatureVerificationFailed)) throw retryErr;
          return undefined;
        }
      };
      // A rotation under way: the previous version still verifies the tokens it signed.
      const byPrevious = await attempt(previous ? await previous.cachedOrLoad() : undefined);
      if (byPrevious) return byPrevious;
      // A rotation this environment has not seen yet (the reload is rate-limited).
      const fresh = await key.refresh();
      if (fresh && !sameBytes(fresh, current)) {
        // The previous version moved with it: the key cached as previous may be retired now.
        previous?.invalidate();
        const byFresh = (await attempt(fresh)) ?? (await attempt(previous ? await previous.cachedOrLoad() : undefined));
        if (byFresh) return byFresh;
      }
      throw err;
    }
  };
}

/** Verification against a key set (e.g. `createRemoteJWKSet`, kept in module scope so it is cached). */
export function jwksVerifier(keySet: JWTVerifyGetKey, policy: TokenPolicy): TokenVerifier {
  const options = verifyOptions(policy);
  return async (token) => (await jwtVerify(token, keySet, options)).payload;
}

/**
 * Whether a verification error means "bad token" (→ 401) rather than "cannot check tokens right now" (key set
 * unreachable, secret unreadable: a server fault).
 */
export function isTokenError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (!(err instanceof errors.JOSEError) || typeof code !== 'string') return false;
  return !['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC'].includes(code);
}

/** The user id: the claim `claim`, which must be a non-empty string (of at most `LIMITS.maxUserIdLength`). */
export function userIdFromClaims(payload: JWTPayload, claim: string): string | undefined {
  const value = Object.prototype.hasOwnProperty.call(payload, claim) ? payload[claim] : undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > LIMITS.maxUserIdLength) return undefined;
  return value;
}

/** Whether the claim `claim` (a string or an array of strings) lists `roomId` or `*`. */
export function roomAllowedByClaims(payload: JWTPayload, claim: string, roomId: string): boolean {
  const value = Object.prototype.hasOwnProperty.call(payload, claim) ? payload[claim] : undefined;
  const rooms = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(rooms)) return false;
  return rooms.some((room) => typeof room === 'string' && (room === roomId || room === '*'));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
