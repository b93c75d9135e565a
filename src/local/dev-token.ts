import { createHmac, randomBytes } from 'node:crypto';

/**
 * Development tokens: compact HS256 JWTs signed with node:crypto (RFC 7515/7519), accepted by the
 * authorizer bundle in `hs256` mode when it holds the same key.
 */

/** Lifetime of a printed dev token. */
export const DEV_TOKEN_TTL_SECONDS = 4 * 60 * 60;

export interface DevTokenOptions {
  /** The HS256 key (its UTF-8 bytes sign the token). */
  readonly secret: string;
  /** The user (`sub`). */
  readonly sub: string;
  /** @default DEV_TOKEN_TTL_SECONDS */
  readonly expiresInSeconds?: number;
  /** More claims (e.g. `iss`, `aud`, a rooms claim); they override `sub` / `iat` / `exp`. */
  readonly claims?: Record<string, unknown>;
  /** Seconds since the epoch to use as "now". @default the current time */
  readonly now?: number;
}

export function signHs256Jwt(payload: Record<string, unknown>, secret: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify(payload));
  const signature = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

export function createDevToken(options: DevTokenOptions): string {
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  const payload = {
    sub: options.sub,
    iat,
    exp: iat + (options.expiresInSeconds ?? DEV_TOKEN_TTL_SECONDS),
    ...options.claims,
  };
  return signHs256Jwt(payload, options.secret);
}

/** A random HS256 key: 32 bytes, hex-encoded (so it can be pasted into a shell). */
export function randomSecret(): string {
  return randomBytes(32).toString('hex');
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
