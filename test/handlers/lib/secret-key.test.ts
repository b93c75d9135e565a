import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { authorize, KEY_MAX_AGE_MS, type AuthorizerDeps, type AuthorizerEvent } from '../../../src/handlers/lib/authorizer';
import { readAuthConfig } from '../../../src/handlers/lib/config';
import { hs256Verifier } from '../../../src/handlers/lib/jwt';
import { KeyUnavailableError, loadSecretKey, RefreshingKey } from '../../../src/handlers/lib/secret-key';
import { setLocalAwsEnv } from '../../support/aws-env';
import { startSecretsServer, type SecretsServer } from '../../support/local-servers';
import { captureLog } from '../../support/log-capture';
import { signToken } from '../../support/tokens';

let secrets: SecretsServer;
let client: SecretsManagerClient;

beforeAll(async () => {
  secrets = await startSecretsServer();
  setLocalAwsEnv({ AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url });
  // No explicit endpoint: the SDK must find the emulator through AWS_ENDPOINT_URL_SECRETS_MANAGER.
  client = new SecretsManagerClient({});
});
afterAll(async () => {
  client.destroy();
  await secrets.close();
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const event = (token: string): AuthorizerEvent => ({ methodArn: 'arn:aws:execute-api:us-east-1:1:a/dev/$connect', queryStringParameters: { token, room_id: 'r' } });

describe('loadSecretKey', () => {
  test('reads the whole SecretString', async () => {
    secrets.put('plain', 'k1-plain-secret-of-32-bytes-or-more');
    expect(text(await loadSecretKey(client, 'plain'))).toBe('k1-plain-secret-of-32-bytes-or-more');
  });

  test('reads a JSON field when configured', async () => {
    secrets.put('json', JSON.stringify({ key: 'k-from-field-of-32-bytes-or-more!', other: 1 }));
    expect(text(await loadSecretKey(client, 'json', 'key'))).toBe('k-from-field-of-32-bytes-or-more!');
  });

  test.each([
    ['a missing field', JSON.stringify({ other: 'x' }), 'key'],
    ['a non-string field', JSON.stringify({ key: 42 }), 'key'],
    ['a field of non-JSON', 'not json', 'key'],
    ['an empty secret', '', undefined],
    ['an empty field', JSON.stringify({ key: '' }), 'key'],
    ['a key under 256 bits (RFC 7518)', 'x'.repeat(31), undefined],
  ])('%s is KeyUnavailableError', async (_what, value, field) => {
    secrets.put('bad', value);
    await expect(loadSecretKey(client, 'bad', field)).rejects.toBeInstanceOf(KeyUnavailableError);
  });

  test('an unknown secret is KeyUnavailableError', async () => {
    await expect(loadSecretKey(client, 'no-such-secret')).rejects.toBeInstanceOf(KeyUnavailableError);
  });
});

describe('RefreshingKey', () => {
  test('loads once, and refreshes at most once per interval', async () => {
    let clock = 1_000_000;
    let loads = 0;
    const key = new RefreshingKey(async () => new Uint8Array([++loads]), { now: () => clock });
    expect(await key.current()).toEqual(new Uint8Array([1]));
    expect(await key.current()).toEqual(new Uint8Array([1]));
    expect(await key.refresh()).toBeUndefined(); // just loaded
    clock += 59_999;
    expect(await key.refresh()).toBeUndefined();
    clock += 1;
    expect(await key.refresh()).toEqual(new Uint8Array([2]));
    expect(await key.current()).toEqual(new Uint8Array([2]));
    expect(await key.refresh()).toBeUndefined();
    expect(loads).toBe(2);
  });

  test('concurrent first uses share one load', async () => {
    let loads = 0;
    const key = new RefreshingKey(async () => new Uint8Array([++loads]));
    await Promise.all([key.current(), key.current(), key.current()]);
    expect(loads).toBe(1);
  });

  test('a failed first load is not cached; a failed refresh keeps the old key', async () => {
    let clock = 0;
    const results: Array<Uint8Array | Error> = [new Error('down'), new Uint8Array([7]), new Error('down again')];
    const key = new RefreshingKey(
      async () => {
        const next = results.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
      { now: () => clock },
    );
    await expect(key.current()).rejects.toThrow('down');
    expect(await key.current()).toEqual(new Uint8Array([7]));
    clock += 60_000;
    expect(await key.refresh()).toBeUndefined();
    expect(await key.current()).toEqual(new Uint8Array([7]));
  });
});

describe('secret rotation (hs256)', () => {
  test('a token signed with the new key verifies after a re-fetch, and re-fetches are rate-limited', async () => {
    secrets.put('rotating', 'old-key-0123456789abcdef0123456789');
    let clock = 5_000_000;
    const logs = captureLog();
    const config = readAuthConfig({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: 'rotating' });
    const key = new RefreshingKey(() => loadSecretKey(client, 'rotating'), { now: () => clock });
    const deps: AuthorizerDeps = { config, log: logs.log, verify: hs256Verifier(key, config) };
    const fetches = () => secrets.requests;
    const start = fetches();

    const oldToken = await signToken('old-key-0123456789abcdef0123456789', { sub: 'alice' });
    expect((await authorize(event(oldToken), deps)).principalId).toBe('alice');
    expect(fetches() - start).toBe(1);

    // The secret rotates. Within a minute of the last fetch, a new-key token cannot be checked yet.
    secrets.put('rotating', 'new-key-abcdef0123456789abcdef0123');
    const newToken = await signToken('new-key-abcdef0123456789abcdef0123', { sub: 'bob' });
    clock += 10_000;
    await expect(authorize(event(newToken), deps)).rejects.toThrow('Unauthorized');
    expect(fetches() - start).toBe(1);

    // A minute after the last fetch, the failed signature triggers one re-fetch, and the token verifies.
    clock += 50_000;
    expect((await authorize(event(newToken), deps)).principalId).toBe('bob');
    expect(fetches() - start).toBe(2);

    // The old key is gone; forged tokens do not make it fetch again within the minute.
    clock += 1_000;
    await expect(authorize(event(oldToken), deps)).rejects.toThrow('Unauthorized');
    for (let i = 0; i < 5; i++) {
      const forged = await signToken(`forged-${i}-0123456789abcdef0123456789`, { sub: 'mallory' });
      await expect(authorize(event(forged), deps)).rejects.toThrow('Unauthorized');
    }
    expect(fetches() - start).toBe(2);
    // Valid tokens never cause a fetch.
    expect((await authorize(event(newToken), deps)).principalId).toBe('bob');
    expect(fetches() - start).toBe(2);
  });
});

describe('the previous version during a rotation', () => {
  test('tokens signed with AWSPREVIOUS still verify; a missing previous version is not asked for on every bad token', async () => {
    secrets.put('rotated', 'new-key-abcdef0123456789abcdef0123');
    let clock = 9_000_000;
    const config = readAuthConfig({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: 'rotated' });
    const current = new RefreshingKey(() => loadSecretKey(client, 'rotated'), { now: () => clock });
    const previous = new RefreshingKey(() => loadSecretKey(client, 'rotated', undefined, 'AWSPREVIOUS'), { now: () => clock });
    const deps: AuthorizerDeps = { config, log: captureLog().log, verify: hs256Verifier(current, config, previous) };
    const start = secrets.requests;

    // No previous version yet: a forged token costs one lookup of it, then none for a minute.
    for (let i = 0; i < 5; i++) {
      const forged = await signToken(`forged-${i}-0123456789abcdef0123456789`, { sub: 'mallory' });
      await expect(authorize(event(forged), deps)).rejects.toThrow('Unauthorized');
    }
    expect(secrets.requests - start).toBe(2); // the current key once, the missing previous once

    // The rotation: the old key is now AWSPREVIOUS. A token it signed verifies (once the lookup is due again).
    secrets.put('rotated', 'old-key-0123456789abcdef0123456789', 'AWSPREVIOUS');
    clock += 61_000;
    const oldToken = await signToken('old-key-0123456789abcdef0123456789', { sub: 'alice' });
    expect((await authorize(event(oldToken), deps)).principalId).toBe('alice');
    const newToken = await signToken('new-key-abcdef0123456789abcdef0123', { sub: 'bob' });
    expect((await authorize(event(newToken), deps)).principalId).toBe('bob');
  });
});

describe('keys retired by rotations stop working', () => {
  test('two rotations: the retired key is refused and the new AWSPREVIOUS accepted, without a bad signature in between', async () => {
    const k = (n: number) => `key-${n}-0123456789abcdef0123456789abcdef`;
    secrets.put('twice', k(1));
    secrets.put('twice', k(0), 'AWSPREVIOUS');
    let clock = 20_000_000;
    const config = readAuthConfig({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: 'twice' });
    const opts = { now: () => clock, maxAgeMs: KEY_MAX_AGE_MS };
    const current = new RefreshingKey(() => loadSecretKey(client, 'twice'), opts);
    const previous = new RefreshingKey(() => loadSecretKey(client, 'twice', undefined, 'AWSPREVIOUS'), opts);
    const deps: AuthorizerDeps = { config, log: captureLog().log, verify: hs256Verifier(current, config, previous) };
    const token = (n: number) => signToken(k(n), { sub: `user-${n}` });

    // Warm: both keys cached (a K0 token loads the previous version).
    expect((await authorize(event(await token(0)), deps)).principalId).toBe('user-0');
    expect((await authorize(event(await token(1)), deps)).principalId).toBe('user-1');

    // Two rotations later: current K3, previous K2; K0 and K1 are retired.
    secrets.put('twice', k(3));
    secrets.put('twice', k(2), 'AWSPREVIOUS');
    clock += KEY_MAX_AGE_MS + 1;
    await expect(authorize(event(await token(0)), deps)).rejects.toThrow('Unauthorized');
    await expect(authorize(event(await token(1)), deps)).rejects.toThrow('Unauthorized');
    expect((await authorize(event(await token(2)), deps)).principalId).toBe('user-2');
    expect((await authorize(event(await token(3)), deps)).principalId).toBe('user-3');
  });

  test('a rotation seen through a bad signature reloads the previous version too', async () => {
    const k = (n: number) => `rot-${n}-0123456789abcdef0123456789abcdef`;
    secrets.put('seen', k(1));
    secrets.put('seen', k(0), 'AWSPREVIOUS');
    let clock = 30_000_000;
    const config = readAuthConfig({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: 'seen' });
    const current = new RefreshingKey(() => loadSecretKey(client, 'seen'), { now: () => clock });
    const previous = new RefreshingKey(() => loadSecretKey(client, 'seen', undefined, 'AWSPREVIOUS'), { now: () => clock });
    const deps: AuthorizerDeps = { config, log: captureLog().log, verify: hs256Verifier(current, config, previous) };
    const token = (n: number) => signToken(k(n), { sub: `user-${n}` });
    expect((await authorize(event(await token(0)), deps)).principalId).toBe('user-0');
    // One rotation: current K2, previous K1. A K2 token forces the reload (a minute after the last one).
    secrets.put('seen', k(2));
    secrets.put('seen', k(1), 'AWSPREVIOUS');
    clock += 61_000;
    expect((await authorize(event(await token(2)), deps)).principalId).toBe('user-2');
    // The previous version followed: K1 verifies, K0 (retired) does not.
    expect((await authorize(event(await token(1)), deps)).principalId).toBe('user-1');
    await expect(authorize(event(await token(0)), deps)).rejects.toThrow('Unauthorized');
  });
});

describe('Secrets Manager failures (fault injection)', () => {
  test('an unreadable secret is a server error (500, not 401), and the next invocation tries again', async () => {
    const failing = new SecretsManagerClient({ region: 'us-east-1' });
    const mock = mockClient(failing);
    mock
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: 'recovered-key-0123456789abcdef0123' });
    const logs = captureLog();
    const config = readAuthConfig({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: 'any' });
    const deps: AuthorizerDeps = { config, log: logs.log, verify: hs256Verifier(new RefreshingKey(() => loadSecretKey(failing, 'any')), config) };
    const token = await signToken('recovered-key-0123456789abcdef0123', { sub: 'alice' });

    const error = await authorize(event(token), deps).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(KeyUnavailableError);
    expect((error as Error).message).not.toBe('Unauthorized');
    expect(logs.records.at(-1)).toMatchObject({ level: 'error', decision: 'error', reason: 'verifier_unavailable', errorName: 'KeyUnavailableError' });

    expect((await authorize(event(token), deps)).principalId).toBe('alice');
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    mock.restore();
  });
});
