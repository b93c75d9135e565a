import { SignJWT, type CryptoKey, type JWTPayload } from 'jose';

/** Every token minted by these helpers in this test file (to prove none of them is ever logged). */
export const mintedTokens: string[] = [];

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs `claims` (default: `sub` user-1, expiring in 10 minutes) with `key` and `alg`. */
export async function signToken(
  key: CryptoKey | Uint8Array | string,
  claims: JWTPayload = {},
  options: { readonly alg?: string; readonly kid?: string; readonly noDefaults?: boolean } = {},
): Promise<string> {
  const payload: JWTPayload = options.noDefaults ? claims : { sub: 'user-1', iat: nowSec(), exp: nowSec() + 600, ...claims };
  const secret = typeof key === 'string' ? new TextEncoder().encode(key) : key;
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) })
    .sign(secret);
  mintedTokens.push(token);
  return token;
}

/** An unsecured token (`alg: none`, empty signature) with the given header `alg` spelling. */
export function unsecuredToken(claims: JWTPayload = { sub: 'user-1', exp: nowSec() + 600 }, alg = 'none'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const token = `${part({ alg, typ: 'JWT' })}.${part(claims)}.`;
  mintedTokens.push(token);
  return token;
}
