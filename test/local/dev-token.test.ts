import { decodeProtectedHeader, jwtVerify } from 'jose';
import { createDevToken, DEV_TOKEN_TTL_SECONDS, randomSecret, signHs256Jwt } from '../../src/local/dev-token';

/** Dev tokens are standard HS256 JWTs: jose (what the authorizer uses) verifies them. */

const key = (secret: string) => new TextEncoder().encode(secret);

test('a dev token verifies with jose and carries sub, iat and a few hours of exp', async () => {
  const secret = randomSecret();
  const token = createDevToken({ secret, sub: 'alice' });
  const { payload, protectedHeader } = await jwtVerify(token, key(secret), { algorithms: ['HS256'] });
  expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
  expect(payload.sub).toBe('alice');
  expect(payload.exp! - payload.iat!).toBe(DEV_TOKEN_TTL_SECONDS);
  expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
});

test('extra claims and a custom lifetime', async () => {
  const token = createDevToken({ secret: 's', sub: 'bob', expiresInSeconds: 60, claims: { rooms: ['lobby'], iss: 'local' }, now: 1000 });
  const { payload } = await jwtVerify(token, key('s'), { currentDate: new Date(1010 * 1000) });
  expect(payload).toEqual({ sub: 'bob', iat: 1000, exp: 1060, rooms: ['lobby'], iss: 'local' });
});

test('a token signed with another key or expired does not verify', async () => {
  await expect(jwtVerify(signHs256Jwt({ sub: 'x' }, 'one'), key('two'))).rejects.toThrow();
  const expired = createDevToken({ secret: 's', sub: 'x', now: 1000, expiresInSeconds: 1 });
  await expect(jwtVerify(expired, key('s'))).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  expect(decodeProtectedHeader(expired).alg).toBe('HS256');
});

test('random secrets are 32 bytes of hex', () => {
  expect(randomSecret()).toMatch(/^[0-9a-f]{64}$/);
  expect(randomSecret()).not.toBe(randomSecret());
});
