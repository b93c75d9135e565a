import { GetSecretValueCommand, ListSecretsCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsEmulator, type SecretsEmulator } from '../../src/local/secrets-emulator';

/** The local Secrets Manager answers the real SDK client as AWS does (JSON 1.1). */

let emulator: SecretsEmulator;
let client: SecretsManagerClient;

beforeAll(async () => {
  emulator = await startSecretsEmulator({ host: '127.0.0.1', region: 'us-east-1', accountId: '000000000000' });
  client = new SecretsManagerClient({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});

test('GetSecretValue by name and by ARN', async () => {
  const secret = emulator.put('app/hs256', 'k3y');
  expect(secret.arn).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:app\/hs256-[A-Za-z0-9]{6}$/);
  for (const id of [secret.name, secret.arn]) {
    const out = await client.send(new GetSecretValueCommand({ SecretId: id }));
    expect(out).toMatchObject({ ARN: secret.arn, Name: 'app/hs256', SecretString: 'k3y', VersionStages: ['AWSCURRENT'] });
    expect(out.CreatedDate).toBeInstanceOf(Date);
  }
});

test('a replaced secret answers its new value', async () => {
  emulator.put('rotating', 'one');
  const second = emulator.put('rotating', 'two');
  expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }))).SecretString).toBe('two');
  expect((await client.send(new GetSecretValueCommand({ SecretId: second.arn }))).SecretString).toBe('two');
});

test('an unknown secret is ResourceNotFoundException; other operations are refused', async () => {
  await expect(client.send(new GetSecretValueCommand({ SecretId: 'nope' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  await expect(client.send(new ListSecretsCommand({}))).rejects.toMatchObject({ name: 'UnknownOperationException' });
});
