import { constants, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { LocalAuth } from './app-model';
import { createDevToken, DEV_TOKEN_TTL_SECONDS, randomSecret } from './dev-token';
import { refuseBrowserRequest } from './internal-http';
import { listenOnFreePort } from './listen';
import type { SecretsEmulator } from './secrets-emulator';

/**
 * The app's `$connect` auth, as the gateway emulates it: the keys the authorizer verifies with, and dev tokens
 * that it accepts.
 *
 * - `hs256`: the key (`--secret`, or a random one) is stored in the local Secrets Manager — as `{"<field>": key}`
 *   JSON when the app reads a field of the secret — and the authorizer reads it through `AUTH_SECRET_ARN`.
 * - `jwks`: with a JWKS URL from the user (`--jwks-url`), the authorizer fetches that (tokens come from the
 *   user's identity provider; the gateway cannot sign any). Without one, the gateway makes a key pair for the
 *   app's first algorithm, serves its public JWKS on loopback, and signs dev tokens with it.
 * - `none`: no key; a dev token only carries the name (the authorizer does not read it).
 */

export const SECRET_NAME = 'cdk-websocket-chat/local/hs256';

/** Path of the gateway's own JWKS. */
export const JWKS_PATH = '/.well-known/jwks.json';

export interface LocalAuthSetup {
  readonly mode: LocalAuth['mode'];
  /** hs256: the key. */
  readonly secret?: string;
  /** hs256: ARN of the local secret holding it. */
  readonly secretArn?: string;
  /** jwks: the URL the authorizer fetches (the user's, or the gateway's own). */
  readonly jwksUrl?: string;
  /** jwks: whether the JWKS is the gateway's own (served on loopback; dev tokens are signed with its key). */
  readonly localJwks: boolean;
  /** Whether the gateway can mint tokens the authorizer accepts. */
  readonly canSign: boolean;
  /** A token for `sub` with the app's claims (issuer, audience, user id claim, `rooms: ["*"]` when configured). */
  devToken(sub: string, claims?: Record<string, unknown>, expiresInSeconds?: number): string;
  close(): Promise<void>;
}

export interface LocalAuthOptions {
  /** hs256: the key. @default - random */
  readonly secret?: string;
  /** jwks: the key set to verify against. @default - the app's `jwksUrl`, else a local key pair's JWKS served on loopback */
  readonly jwksUrl?: string;
  /** Loopback address for the JWKS server. */
  readonly internalHost: string;
  readonly secrets: SecretsEmulator;
}

export async function setUpLocalAuth(auth: LocalAuth, options: LocalAuthOptions): Promise<LocalAuthSetup> {
  switch (auth.mode) {
    case 'hs256': {
      const secret = options.secret ?? randomSecret();
      const secretString = auth.secretField ? JSON.stringify({ [auth.secretField]: secret }) : secret;
      const { arn } = options.secrets.put(SECRET_NAME, secretString);
      return {
        mode: 'hs256',
        secret,
        secretArn: arn,
        localJwks: false,
        canSign: true,
        devToken: (sub, claims, expiresInSeconds) =>
          createDevToken({ secret, sub, claims: { ...appClaims(auth, sub), ...claims }, expiresInSeconds }),
        close: async () => undefined,
      };
    }
    case 'jwks': {
      const userJwksUrl = options.jwksUrl ?? auth.jwksUrl;
      if (userJwksUrl) {
        return {
          mode: 'jwks',
          jwksUrl: userJwksUrl,
          localJwks: false,
          canSign: false,
          devToken: () => {
            throw new Error(`dev tokens need the gateway's own key: the authorizer verifies tokens against ${userJwksUrl}`);
          },
          close: async () => undefined,
        };
      }
      const alg = auth.algorithms[0] ?? 'RS256';
      const key = localSigningKey(alg);
      const server = createServer((req, res) => {
        if (refuseBrowserRequest(req, res)) return;
        req.resume();
        if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://localhost').pathname !== JWKS_PATH) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(JSON.stringify({ keys: [key.jwk] }));
      });
      const endpoint = await listenOnFreePort(server, options.internalHost);
      return {
        mode: 'jwks',
        jwksUrl: `${endpoint}${JWKS_PATH}`,
        localJwks: true,
        canSign: true,
        devToken: (sub, claims, expiresInSeconds) => {
          const iat = Math.floor(Date.now() / 1000);
          const payload = { sub, iat, exp: iat + (expiresInSeconds ?? DEV_TOKEN_TTL_SECONDS), ...appClaims(auth, sub), ...claims };
          return signJwt({ alg, typ: 'JWT', kid: key.kid }, payload, key);
        },
        close: async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await closed;
        },
      };
    }
    case 'none':
      return {
        mode: 'none',
        localJwks: false,
        canSign: true,
        // Demo mode reads no token: this one only carries the name (e.g. for the chat page to show).
        devToken: (sub, claims, expiresInSeconds) => {
          const iat = Math.floor(Date.now() / 1000);
          const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
          return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub, iat, exp: iat + (expiresInSeconds ?? DEV_TOKEN_TTL_SECONDS), ...claims })}.`;
        },
        close: async () => undefined,
      };
  }
}

/** The claims the app's authorizer reads: issuer, audience, the user id claim, and every room when rooms are checked. */
function appClaims(auth: Exclude<LocalAuth, { mode: 'none' }>, sub: string): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (auth.issuer) claims.iss = auth.issuer;
  if (auth.audience.length > 0) claims.aud = auth.audience[0];
  if (auth.userIdClaim !== 'sub') claims[auth.userIdClaim] = sub;
  if (auth.roomsClaim) claims[auth.roomsClaim] = ['*'];
  return claims;
}

interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

const HASHES: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };
const CURVES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** A fresh key pair for a JWS algorithm (RS*, PS*, ES*, EdDSA), with its public JWK. */
export function localSigningKey(alg: string): SigningKey {
  let pair: { publicKey: KeyObject; privateKey: KeyObject };
  if (/^(RS|PS)(256|384|512)$/.test(alg)) pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (CURVES[alg]) pair = generateKeyPairSync('ec', { namedCurve: CURVES[alg] });
  else if (alg === 'EdDSA' || alg === 'Ed25519') pair = generateKeyPairSync('ed25519');
  else throw new Error(`the gateway cannot make a local key for algorithm ${alg}: give the app's JWKS URL instead (--jwks-url)`);
  const kid = `local-${randomUUID().slice(0, 8)}`;
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

/** A compact JWS (RFC 7515) signed with node:crypto. */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: SigningKey): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const data = Buffer.from(input);
  const bits = key.alg.slice(2);
  let signature: Buffer;
  if (key.alg.startsWith('RS')) {
    signature = sign(HASHES[bits], data, key.privateKey);
  } else if (key.alg.startsWith('PS')) {
    signature = sign(HASHES[bits], data, {
      key: key.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  } else if (key.alg.startsWith('ES')) {
    signature = sign(HASHES[bits], data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  } else {
    signature = sign(null, data, key.privateKey);
  }
  return `${input}.${signature.toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
