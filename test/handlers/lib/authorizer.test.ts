import { exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { authorize, authorizerDepsFromEnv, extractToken, type AuthorizerDeps, type AuthorizerEvent, type AuthorizerResult } from '../../../src/handlers/lib/authorizer';
import { ConfigError } from '../../../src/handlers/lib/config';
import { setLocalAwsEnv } from '../../support/aws-env';
import { startJwksServer, startSecretsServer, type LocalServer, type SecretsServer } from '../../support/local-servers';
import { captureLog } from '../../support/log-capture';
import { mintedTokens, nowSec, signToken, unsecuredToken } from '../../support/tokens';

const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/$connect';
const SECRET = 'a-long-enough-hs256-test-secret-0123456789';
const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:chat-key-AbCdEf';

let secrets: SecretsServer;
let jwks: LocalServer;
let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
let otherRsa: { publicKey: CryptoKey; privateKey: CryptoKey };
let ec: { publicKey: CryptoKey; privateKey: CryptoKey };
let jwksKeys: JWK[] = [];
const logs = captureLog();

beforeAll(async () => {
  [secrets, rsa, otherRsa, ec] = await Promise.all([
    startSecretsServer(),
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
  ]);
  jwksKeys = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  jwks = await startJwksServer(() => jwksKeys);
  setLocalAwsEnv({ AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url });
  secrets.put(SECRET_ID, SECRET);
  secrets.put('json-secret', JSON.stringify({ signingKey: SECRET, other: 'x' }));
});
afterAll(async () => {
  await Promise.all([secrets.close(), jwks.close()]);
  // Whatever happened, no token (nor its signature) ever reached a log line.
  const text = logs.lines.join('\n');
  for (const token of mintedTokens) {
    expect(text).not.toContain(token);
    const signature = token.split('.')[2];
    if (signature) expect(text).not.toContain(signature);
  }
  expect(logs.lines.length).toBeGreaterThan(20);
});

function event(query: Record<string, string | undefined> = {}, headers: Record<string, string> = {}): AuthorizerEvent {
  return {
    methodArn: METHOD_ARN,
    queryStringParameters: { room_id: 'lobby', ...query },
    headers: { Host: 'abcdef1234.execute-api.us-east-1.amazonaws.com', ...headers },
    requestContext: { connectionId: 'conn-1=', requestId: 'req-1', apiId: 'abcdef1234' },
  };
}

function hs256(extra: Record<string, string> = {}): AuthorizerDeps {
  return authorizerDepsFromEnv({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: SECRET_ID, ...extra }, logs.log);
}

function jwksDeps(extra: Record<string, string> = {}): AuthorizerDeps {
  return authorizerDepsFromEnv({ AUTH_MODE: 'jwks', AUTH_JWKS_URL: jwks.url, ...extra }, logs.log);
}

function expectAllow(result: AuthorizerResult, userId: string, roomId: string | undefined, rooms?: unknown): void {
  expect(result).toEqual({
    principalId: userId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }] },
    context: { userId, ...(roomId !== undefined ? { roomId } : {}), ...(rooms !== undefined ? { rooms: JSON.stringify(rooms) } : {}) },
  });
}

function expectDeny(result: AuthorizerResult): void {
  expect(result.policyDocument.Statement).toEqual([{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: METHOD_ARN }]);
  expect(result.context).toBeUndefined();
}

async function expectUnauthorized(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toThrow(new Error('Unauthorized'));
}

function lastLog(): Record<string, unknown> {
  return logs.records[logs.records.length - 1];
}

describe('hs256', () => {
  let deps: AuthorizerDeps;
  beforeAll(() => {
    deps = hs256();
  });

  test('a valid token in the query string is allowed, with the user and room in the context', async () => {
    const token = await signToken(SECRET, { sub: 'alice' });
    expectAllow(await authorize(event({ token }), deps), 'alice', 'lobby');
    expect(lastLog()).toMatchObject({
      level: 'info',
      event: 'authorize',
      decision: 'allow',
      reason: 'allowed',
      tokenSource: 'query',
      userId: 'alice',
      roomId: 'lobby',
      connectionId: 'conn-1=',
    });
  });

  test('the key is fetched once and kept in module scope', async () => {
    const fresh = hs256();
    const before = secrets.requests;
    for (let i = 0; i < 5; i++) {
      const token = await signToken(SECRET, { sub: `u${i}` });
      expectAllow(await authorize(event({ token }), fresh), `u${i}`, 'lobby');
    }
    expect(secrets.requests - before).toBe(1);
  });

  test('a header-only bearer token is accepted (any header case)', async () => {
    const token = await signToken(SECRET, { sub: 'bob' });
    expectAllow(await authorize(event({}, { Authorization: `Bearer ${token}` }), deps), 'bob', 'lobby');
    expect(lastLog()).toMatchObject({ decision: 'allow', tokenSource: 'header' });
    expectAllow(await authorize(event({}, { authorization: `bearer ${token}` }), deps), 'bob', 'lobby');
  });

  test('the query token takes precedence over the header', async () => {
    const good = await signToken(SECRET, { sub: 'bob' });
    const forged = await signToken('not-the-secret', { sub: 'bob' });
    await expectUnauthorized(authorize(event({ token: forged }, { Authorization: `Bearer ${good}` }), deps));
    expectAllow(await authorize(event({ token: good }, { Authorization: `Bearer ${forged}` }), deps), 'bob', 'lobby');
  });

  test('a missing token is 401', async () => {
    await expectUnauthorized(authorize(event(), deps));
    expect(lastLog()).toMatchObject({ decision: 'unauthorized', reason: 'token_missing' });
    await expectUnauthorized(authorize(event({ token: '' }), deps));
    await expectUnauthorized(authorize({ methodArn: METHOD_ARN, queryStringParameters: null, headers: null }, deps));
  });

  test('a non-Bearer Authorization header is 401', async () => {
    const token = await signToken(SECRET);
    await expectUnauthorized(authorize(event({}, { Authorization: `Basic ${token}` }), deps));
    await expectUnauthorized(authorize(event({}, { Authorization: token }), deps));
    await expectUnauthorized(authorize(event({}, { Authorization: 'Bearer ' }), deps));
  });

  test('a forged signature is 401', async () => {
    const token = await signToken('some-other-secret-0123456789abcdef', { sub: 'mallory' });
    await expectUnauthorized(authorize(event({ token }), deps));
    expect(lastLog()).toMatchObject({ decision: 'unauthorized', reason: 'token_invalid', detail: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  test('a tampered payload is 401', async () => {
    const token = await signToken(SECRET, { sub: 'alice' });
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'admin', exp: nowSec() + 600 })).toString('base64url');
    const tampered = `${header}.${payload}.${signature}`;
    mintedTokens.push(tampered);
    await expectUnauthorized(authorize(event({ token: tampered }), deps));
  });

  test('garbage is 401', async () => {
    for (const token of ['x', 'a.b.c', 'a.b', '....', 'eyJhbGciOiJIUzI1NiJ9.e30', `${'A'.repeat(5000)}.e30.sig`]) {
      await expectUnauthorized(authorize(event({ token }), deps));
    }
  });

  test('an expired token is 401; within the clock tolerance it still passes', async () => {
    const expired = await signToken(SECRET, { exp: nowSec() - 60 });
    await expectUnauthorized(authorize(event({ token: expired }), deps));
    expect(lastLog()).toMatchObject({ reason: 'token_invalid', detail: 'ERR_JWT_EXPIRED' });
    const justExpired = await signToken(SECRET, { exp: nowSec() - 2 });
    expectAllow(await authorize(event({ token: justExpired }), deps), 'user-1', 'lobby');
    const strict = hs256({ CLOCK_TOLERANCE_SECONDS: '0' });
    await expectUnauthorized(authorize(event({ token: justExpired }), strict));
  });

  test('a token without exp is 401', async () => {
    const token = await signToken(SECRET, { sub: 'user-1', iat: nowSec() }, { noDefaults: true });
    await expectUnauthorized(authorize(event({ token }), deps));
    expect(lastLog()).toMatchObject({ reason: 'token_invalid', detail: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  });

  test('a not-yet-valid token (nbf in the future) is 401', async () => {
    const token = await signToken(SECRET, { nbf: nowSec() + 120 });
    await expectUnauthorized(authorize(event({ token }), deps));
    expect(lastLog()).toMatchObject({ reason: 'token_invalid', detail: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  });

  test('the issuer is checked when configured', async () => {
    const withIssuer = hs256({ AUTH_ISSUER: 'https://issuer.example/' });
    const right = await signToken(SECRET, { iss: 'https://issuer.example/' });
    const wrong = await signToken(SECRET, { iss: 'https://evil.example/' });
    const none = await signToken(SECRET);
    expectAllow(await authorize(event({ token: right }), withIssuer), 'user-1', 'lobby');
    await expectUnauthorized(authorize(event({ token: wrong }), withIssuer));
    await expectUnauthorized(authorize(event({ token: none }), withIssuer));
  });

  test('the audience is checked when configured (comma-separated list)', async () => {
    const withAudience = hs256({ AUTH_AUDIENCE: 'chat-web, chat-mobile' });
    expectAllow(await authorize(event({ token: await signToken(SECRET, { aud: 'chat-mobile' }) }), withAudience), 'user-1', 'lobby');
    expectAllow(await authorize(event({ token: await signToken(SECRET, { aud: ['other', 'chat-web'] }) }), withAudience), 'user-1', 'lobby');
    await expectUnauthorized(authorize(event({ token: await signToken(SECRET, { aud: 'other' }) }), withAudience));
    await expectUnauthorized(authorize(event({ token: await signToken(SECRET) }), withAudience));
  });

  test('alg none is 401 in every spelling', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      await expectUnauthorized(authorize(event({ token: unsecuredToken(undefined, alg) }), deps));
    }
  });

  test('only HS256 is accepted: HS512 with the same secret and RS256 are 401', async () => {
    await expectUnauthorized(authorize(event({ token: await signToken(SECRET, {}, { alg: 'HS512' }) }), deps));
    expect(lastLog()).toMatchObject({ detail: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    await expectUnauthorized(authorize(event({ token: await signToken(rsa.privateKey, {}, { alg: 'RS256' }) }), deps));
  });

  test('a missing, empty, non-string or oversized user claim is 401', async () => {
    for (const claims of [{ sub: undefined }, { sub: '' }, { sub: 42 }, { sub: ['a'] }, { sub: { id: 'a' } }, { sub: null }, { sub: 'x'.repeat(1025) }]) {
      const token = await signToken(SECRET, claims as Record<string, unknown>);
      await expectUnauthorized(authorize(event({ token }), deps));
      expect(lastLog()).toMatchObject({ decision: 'unauthorized', reason: 'user_claim_invalid' });
    }
    expectAllow(await authorize(event({ token: await signToken(SECRET, { sub: 'x'.repeat(1024) }) }), deps), 'x'.repeat(1024), 'lobby');
  });

  test('the user claim is configurable', async () => {
    const byEmail = hs256({ USER_ID_CLAIM: 'email' });
    const token = await signToken(SECRET, { sub: 'ignored', email: 'carol@example.com' });
    expectAllow(await authorize(event({ token }), byEmail), 'carol@example.com', 'lobby');
    await expectUnauthorized(authorize(event({ token: await signToken(SECRET, { sub: 'no-email' }) }), byEmail));
  });

  test('a user_id query parameter is ignored entirely', async () => {
    const token = await signToken(SECRET, { sub: 'alice' });
    expectAllow(await authorize(event({ token, user_id: 'admin' }), deps), 'alice', 'lobby');
  });

  test.each([
    ['lobby'],
    ['a'],
    ['A-z_0.9:x'],
    ['..'],
    ['.'],
    ['r'.repeat(128)],
  ])('room id %j is accepted', async (room) => {
    const token = await signToken(SECRET, { sub: 'alice' });
    expectAllow(await authorize(event({ token, room_id: room }), deps), 'alice', room);
  });

  test('no room at all is allowed: the connection joins rooms later', async () => {
    const token = await signToken(SECRET, { sub: 'alice' });
    expectAllow(await authorize(event({ token, room_id: undefined }), deps), 'alice', undefined);
  });

  test.each([
    ['empty', ''],
    ['a slash', 'a/b'],
    ['a parent path', '../x'],
    ['a backslash', 'a\\b'],
    ['a space', 'a b'],
    ['a NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['a tab', '\tlobby'],
    ['a DEL', 'a\u007f'],
    ['non-ASCII', 'café'],
    ['an emoji', 'room👋'],
    ['percent-encoding', 'a%2Fb'],
    ['a query char', 'a?b'],
    ['129 chars', 'r'.repeat(129)],
  ])('a room id with %s is denied (403) for a valid token', async (_what, room) => {
    const token = await signToken(SECRET, { sub: 'alice' });
    const result = await authorize(event({ token, room_id: room }), deps);
    expectDeny(result);
    expect(result.principalId).toBe('alice');
    expect(lastLog()).toMatchObject({ decision: 'deny', reason: 'room_invalid', userId: 'alice' });
    expect(lastLog().roomId).toBeUndefined();
  });

  test('a bad token with a bad room is still 401 (authentication first)', async () => {
    await expectUnauthorized(authorize(event({ room_id: 'a/b' }), deps));
  });

  describe('rooms claim', () => {
    let withRooms: AuthorizerDeps;
    beforeAll(() => {
      withRooms = hs256({ ROOMS_CLAIM: 'rooms' });
    });

    test('a listed room is allowed; another is denied', async () => {
      const token = await signToken(SECRET, { sub: 'alice', rooms: ['lobby', 'team-1'] });
      expectAllow(await authorize(event({ token, room_id: 'team-1' }), withRooms), 'alice', 'team-1', ['lobby', 'team-1']);
      expectDeny(await authorize(event({ token, room_id: 'team-2' }), withRooms));
      expect(lastLog()).toMatchObject({ decision: 'deny', reason: 'room_forbidden', userId: 'alice' });
    });

    test('"*" allows any (valid) room', async () => {
      const token = await signToken(SECRET, { sub: 'admin', rooms: ['*'] });
      expectAllow(await authorize(event({ token, room_id: 'anything' }), withRooms), 'admin', 'anything', '*');
      expectDeny(await authorize(event({ token, room_id: 'bad/room' }), withRooms));
      const single = await signToken(SECRET, { sub: 'admin', rooms: '*' });
      expectAllow(await authorize(event({ token: single, room_id: 'x' }), withRooms), 'admin', 'x', '*');
    });

    test('a single string claim works', async () => {
      const token = await signToken(SECRET, { sub: 'alice', rooms: 'lobby' });
      expectAllow(await authorize(event({ token }), withRooms), 'alice', 'lobby', ['lobby']);
      expectDeny(await authorize(event({ token, room_id: 'lobby2' }), withRooms));
    });

    test('without a handshake room the connection is let in, carrying its claim for later joins', async () => {
      const token = await signToken(SECRET, { sub: 'alice', rooms: ['a', 'b'] });
      expectAllow(await authorize(event({ token, room_id: undefined }), withRooms), 'alice', undefined, ['a', 'b']);
      // A malformed claim allows no room at all.
      const bad = await signToken(SECRET, { sub: 'alice', rooms: 42 });
      expectAllow(await authorize(event({ token: bad, room_id: undefined }), withRooms), 'alice', undefined, []);
    });

    test('a claim over 6 KB is refused at the handshake (the authorizer context must stay under 8 KB)', async () => {
      const rooms = Array.from({ length: 400 }, (_, i) => `room-number-${i}`);
      const token = await signToken(SECRET, { sub: 'alice', rooms });
      expectDeny(await authorize(event({ token, room_id: undefined }), withRooms));
      expect(lastLog()).toMatchObject({ decision: 'deny', reason: 'rooms_claim_too_large' });
    });

    test('a missing or malformed claim is denied', async () => {
      for (const rooms of [undefined, 42, null, { lobby: true }, [1, null], [], ['lobby2'], 'lob*']) {
        const token = await signToken(SECRET, { sub: 'alice', rooms } as Record<string, unknown>);
        expectDeny(await authorize(event({ token }), withRooms));
      }
    });
  });
});

describe('jwks', () => {
  let deps: AuthorizerDeps;
  beforeAll(() => {
    deps = jwksDeps({ AUTH_ISSUER: 'https://idp.example/', AUTH_AUDIENCE: 'chat' });
  });
  const claims = (extra: Record<string, unknown> = {}) => ({ iss: 'https://idp.example/', aud: 'chat', ...extra });

  test('an RS256 token from the key set is allowed, and the key set is fetched once', async () => {
    const fresh = jwksDeps({ AUTH_ISSUER: 'https://idp.example/', AUTH_AUDIENCE: 'chat' });
    const before = jwks.requests;
    for (const sub of ['dave', 'erin', 'frank']) {
      const token = await signToken(rsa.privateKey, claims({ sub }), { alg: 'RS256', kid: 'rsa-1' });
      expectAllow(await authorize(event({ token }), fresh), sub, 'lobby');
    }
    expect(jwks.requests - before).toBe(1);
  });

  test('a token signed by a key outside the set is 401', async () => {
    const token = await signToken(otherRsa.privateKey, claims(), { alg: 'RS256', kid: 'rsa-1' });
    await expectUnauthorized(authorize(event({ token }), deps));
    expect(lastLog()).toMatchObject({ reason: 'token_invalid', detail: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const unknownKid = await signToken(otherRsa.privateKey, claims(), { alg: 'RS256', kid: 'rsa-unknown' });
    await expectUnauthorized(authorize(event({ token: unknownKid }), deps));
  });

  test('HS/RS confusion: an HS256 token keyed with the RSA public key PEM is 401', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const token = await signToken(pem, claims(), { alg: 'HS256', kid: 'rsa-1' });
    await expectUnauthorized(authorize(event({ token }), deps));
    expect(lastLog()).toMatchObject({ reason: 'token_invalid', detail: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const jwkJson = await signToken(JSON.stringify(jwksKeys[0]), claims(), { alg: 'HS256', kid: 'rsa-1' });
    await expectUnauthorized(authorize(event({ token: jwkJson }), deps));
  });

  test('alg none is 401', async () => {
    await expectUnauthorized(authorize(event({ token: unsecuredToken(claims({ sub: 'x', exp: nowSec() + 60 })) }), deps));
  });

  test('wrong issuer, wrong audience and expiry are checked', async () => {
    const sign = (extra: Record<string, unknown>) => signToken(rsa.privateKey, claims(extra), { alg: 'RS256', kid: 'rsa-1' });
    await expectUnauthorized(authorize(event({ token: await sign({ iss: 'https://evil.example/' }) }), deps));
    await expectUnauthorized(authorize(event({ token: await sign({ aud: 'other' }) }), deps));
    await expectUnauthorized(authorize(event({ token: await sign({ exp: nowSec() - 3600 }) }), deps));
    await expectUnauthorized(authorize(event({ token: await sign({ nbf: nowSec() + 3600 }) }), deps));
  });

  test('algorithms are pinned: ES256 only when configured', async () => {
    const es = await signToken(ec.privateKey, claims(), { alg: 'ES256', kid: 'ec-1' });
    const rs = await signToken(rsa.privateKey, claims(), { alg: 'RS256', kid: 'rsa-1' });
    await expectUnauthorized(authorize(event({ token: es }), deps)); // default RS256 only
    const esOnly = jwksDeps({ AUTH_ALGORITHMS: 'ES256', AUTH_ISSUER: 'https://idp.example/' });
    expectAllow(await authorize(event({ token: es }), esOnly), 'user-1', 'lobby');
    await expectUnauthorized(authorize(event({ token: rs }), esOnly));
  });

  test('an unreachable key set is a server error (500), not a 401, and nothing is allowed', async () => {
    const dead = await startJwksServer(() => []);
    await dead.close();
    const unreachable = authorizerDepsFromEnv({ AUTH_MODE: 'jwks', AUTH_JWKS_URL: dead.url }, logs.log);
    const token = await signToken(rsa.privateKey, {}, { alg: 'RS256', kid: 'rsa-1' });
    const error = await authorize(event({ token }), unreachable).catch((err: unknown) => err);
    // (fetch's TypeError comes from another realm than jest's Error: check the shape, not the class.)
    expect(typeof (error as Error).message).toBe('string');
    expect((error as Error).message).not.toBe('Unauthorized');
    expect(lastLog()).toMatchObject({ level: 'error', decision: 'error', reason: 'verifier_unavailable' });
  });

  test('symmetric algorithms are refused in jwks mode at configuration', () => {
    expect(() => jwksDeps({ AUTH_ALGORITHMS: 'RS256,HS256' })).toThrow(ConfigError);
    expect(() => jwksDeps({ AUTH_ALGORITHMS: 'none' })).toThrow(ConfigError);
  });
});

describe('none (demo) mode', () => {
  const deps = (): AuthorizerDeps => authorizerDepsFromEnv({ AUTH_MODE: 'none' }, logs.log);

  test('anyone gets an anonymous user id; user_id and tokens are ignored', async () => {
    const result = await authorize(event({ user_id: 'admin', token: 'garbage' }), deps());
    expect(result.principalId).toMatch(/^anon-[0-9a-f]{12}$/);
    expectAllow(result, result.principalId, 'lobby');
    const other = await authorize(event(), deps());
    expect(other.principalId).not.toBe(result.principalId);
  });

  test('the room is optional, and still validated when given', async () => {
    expectDeny(await authorize(event({ room_id: '../etc' }), deps()));
    const result = await authorize(event({ room_id: undefined }), deps());
    expectAllow(result, result.principalId, undefined);
  });
});

describe('configuration', () => {
  test('an unknown or missing mode fails closed', () => {
    expect(() => authorizerDepsFromEnv({}, logs.log)).toThrow(ConfigError);
    expect(() => authorizerDepsFromEnv({ AUTH_MODE: 'HS256-please' }, logs.log)).toThrow(ConfigError);
  });

  test('hs256 needs the secret, jwks the URL', () => {
    expect(() => authorizerDepsFromEnv({ AUTH_MODE: 'hs256' }, logs.log)).toThrow(/AUTH_SECRET_ARN/);
    expect(() => authorizerDepsFromEnv({ AUTH_MODE: 'jwks' }, logs.log)).toThrow(/AUTH_JWKS_URL/);
    expect(() => authorizerDepsFromEnv({ AUTH_MODE: 'jwks', AUTH_JWKS_URL: 'not a url' }, logs.log)).toThrow(/not a URL/);
  });

  test('a JSON field of the secret can hold the key', async () => {
    const deps = authorizerDepsFromEnv({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: 'json-secret', AUTH_SECRET_FIELD: 'signingKey' }, logs.log);
    expectAllow(await authorize(event({ token: await signToken(SECRET, { sub: 'zed' }) }), deps), 'zed', 'lobby');
  });
});

describe('extractToken', () => {
  test('query first, then a Bearer header', () => {
    expect(extractToken(event({ token: 'q' }, { Authorization: 'Bearer h' }))).toEqual({ token: 'q', source: 'query' });
    expect(extractToken(event({}, { AUTHORIZATION: 'Bearer   h.h.h  ' }))).toEqual({ token: 'h.h.h', source: 'header' });
    expect(extractToken(event({}, { Authorization: 'Bearer a b' }))).toBeUndefined();
    expect(extractToken(event())).toBeUndefined();
  });
});

describe('optional token-lifetime rules', () => {
  const now = Math.floor(Date.now() / 1000);
  test('MAX_TOKEN_LIFETIME_SECONDS: exp − iat above it, or no iat, is 401', async () => {
    const deps = hs256({ MAX_TOKEN_LIFETIME_SECONDS: '3600' });
    expectAllow(await authorize(event({ token: await signToken(SECRET, { sub: 'a', iat: now, exp: now + 3600 }) }), deps), 'a', 'lobby');
    await expectUnauthorized(authorize(event({ token: await signToken(SECRET, { sub: 'a', iat: now, exp: now + 3601 }) }), deps));
    expect(lastLog()).toMatchObject({ decision: 'unauthorized', reason: 'token_lifetime', detail: 'lifetime_too_long' });
    await expectUnauthorized(authorize(event({ token: await signToken(SECRET, { sub: 'a', exp: now + 60 }, { noDefaults: true }) }), deps));
    expect(lastLog()).toMatchObject({ reason: 'token_lifetime', detail: 'iat_missing' });
  });

  test('REJECT_FUTURE_IAT: iat beyond the clock tolerance is 401; off by default', async () => {
    const future = await signToken(SECRET, { sub: 'a', iat: now + 120, exp: now + 600 });
    expectAllow(await authorize(event({ token: future }), hs256()), 'a', 'lobby');
    await expectUnauthorized(authorize(event({ token: future }), hs256({ REJECT_FUTURE_IAT: 'true' })));
    expect(lastLog()).toMatchObject({ reason: 'token_lifetime', detail: 'iat_in_future' });
    const withinTolerance = await signToken(SECRET, { sub: 'a', iat: now + 3, exp: now + 600 });
    expectAllow(await authorize(event({ token: withinTolerance }), hs256({ REJECT_FUTURE_IAT: 'true' })), 'a', 'lobby');
  });
});
