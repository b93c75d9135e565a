import * as path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { LocalAppSpec, LocalAuth } from '../../src/local/app-model';
import { defaultApp } from '../../src/local/default-app';
import { localSigningKey, signJwt } from '../../src/local/local-auth';
import { FIXTURE_HANDLERS, REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { startJwksServer, type LocalServer } from '../support/local-servers';
import { waitForEvent } from '../support/wait';
import { connectUrl, handshakeStatus, TestClient } from '../support/ws-client';

/**
 * The app's auth modes as the gateway emulates them, checked by the REAL authorizer bundle (the other functions are
 * fixtures): hs256 with the key in the local secret (whole, or as a JSON field), jwks with a local key pair and its
 * JWKS on loopback or with the user's JWKS URL, and none. Dev tokens carry the app's issuer, audience, user id claim
 * and (when rooms are checked) every room.
 */

const gateways: TestGateway[] = [];
const servers: LocalServer[] = [];
afterAll(async () => {
  await Promise.all(gateways.map((gw) => gw.close()));
  await Promise.all(servers.map((s) => s.close()));
});

/** The defaults on the fixture bundles, with the real authorizer. */
function appWith(auth: LocalAuth): LocalAppSpec {
  const base = defaultApp({ handlersDir: FIXTURE_HANDLERS, auth });
  return {
    ...base,
    functions: base.functions.map((fn) => (fn.name === 'authorizer' ? { ...fn, codeDir: path.join(REAL_HANDLERS, 'authorizer.lambda') } : fn)),
  };
}

async function gateway(auth: LocalAuth, options: { jwksUrl?: string } = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ app: appWith(auth), warm: false, ...options });
  gateways.push(gw);
  return gw;
}

/** Connects; resolves with the authorizer context the gateway passed on. */
async function accepted(gw: TestGateway, params: Record<string, string | undefined>): Promise<Record<string, unknown>> {
  const connected = waitForEvent<{ authorizer: Record<string, unknown> }>(gw.events, 'connect');
  const client = await TestClient.connect(connectUrl(gw.url, params));
  const { authorizer } = await connected;
  await client.close();
  return authorizer;
}

test('hs256: the key is stored as the app reads it (a JSON field); dev tokens carry issuer, audience, user id claim, rooms', async () => {
  const gw = await gateway(
    { mode: 'hs256', secretField: 'signingKey', issuer: 'https://issuer.local/', audience: ['chat-app'], userIdClaim: 'uid', roomsClaim: 'rooms' },
    {},
  );
  const sm = new SecretsManagerClient({ endpoint: gw.secretsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
  const { SecretString } = await sm.send(new GetSecretValueCommand({ SecretId: gw.secretArn }));
  sm.destroy();
  expect(JSON.parse(SecretString!)).toEqual({ signingKey: gw.secret });

  const token = gw.devToken('alice');
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  expect(claims).toMatchObject({ sub: 'alice', uid: 'alice', iss: 'https://issuer.local/', aud: 'chat-app', rooms: ['*'] });
  expect(await accepted(gw, { token, room_id: 'any-room' })).toMatchObject({ userId: 'alice', roomId: 'any-room', rooms: expect.stringContaining('*') });
  // Claims can be narrowed for a test of room authorization.
  expect(await handshakeStatus(connectUrl(gw.url, { token: gw.devToken('bob', { rooms: ['lobby'] }), room_id: 'other' }))).toBe(403);
  // The app's issuer is checked.
  expect(await handshakeStatus(connectUrl(gw.url, { token: gw.devToken('eve', { iss: 'https://elsewhere/' }), room_id: 'r' }))).toBe(401);
});

test.each(['RS256', 'ES256', 'PS256'])('jwks with a local %s key pair: its JWKS on loopback, dev tokens signed with it', async (alg) => {
  const gw = await gateway({ mode: 'jwks', issuer: 'https://idp.local/', audience: ['chat'], algorithms: [alg], userIdClaim: 'sub' });
  expect(gw.auth).toMatchObject({ mode: 'jwks', canSign: true, localJwks: true });
  expect(gw.auth.jwksUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json$/);
  const jwks = (await (await fetch(gw.auth.jwksUrl!)).json()) as { keys: Array<Record<string, unknown>> };
  expect(jwks.keys).toHaveLength(1);
  expect(jwks.keys[0]).toMatchObject({ alg, use: 'sig' });
  expect(jwks.keys[0]).not.toHaveProperty('d');

  const token = gw.devToken('carol');
  expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toMatchObject({ alg, kid: jwks.keys[0].kid });
  expect(await accepted(gw, { token, room_id: 'r' })).toMatchObject({ userId: 'carol' });
  // A token signed with another key of the same kind is refused.
  const other = localSigningKey(alg);
  const now = Math.floor(Date.now() / 1000);
  const forged = signJwt({ alg, kid: jwks.keys[0].kid }, { sub: 'mallory', iss: 'https://idp.local/', aud: 'chat', iat: now, exp: now + 60 }, other);
  expect(await handshakeStatus(connectUrl(gw.url, { token: forged, room_id: 'r' }))).toBe(401);
});

test('jwks with the user\'s JWKS URL: the authorizer fetches it; the gateway signs no tokens', async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-key', alg: 'RS256' };
  const idp = await startJwksServer(() => [jwk]);
  servers.push(idp);
  const gw = await gateway({ mode: 'jwks', audience: [], algorithms: ['RS256'], userIdClaim: 'sub' }, { jwksUrl: idp.url });
  expect(gw.auth).toMatchObject({ canSign: false, localJwks: false, jwksUrl: idp.url });
  expect(() => gw.devToken('x')).toThrow(/verifies tokens against/);
  const token = await new SignJWT({ sub: 'dave' }).setProtectedHeader({ alg: 'RS256', kid: 'idp-key' }).setIssuedAt().setExpirationTime('5m').sign(privateKey);
  expect(await accepted(gw, { token, room_id: 'r' })).toMatchObject({ userId: 'dave' });
  expect(idp.requests).toBeGreaterThan(0);
});

test('none: no token needed, an anonymous user id; a dev token only carries the name', async () => {
  const gw = await gateway({ mode: 'none' });
  expect(gw.auth).toMatchObject({ mode: 'none', canSign: true });
  const ctx = await accepted(gw, { room_id: 'r' });
  expect(typeof ctx.userId).toBe('string');
  expect(ctx.userId).not.toBe('');
  expect(gw.devToken('erin').split('.')[2]).toBe('');
});
