import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';

/** A started loopback HTTP server. */
export interface LocalServer {
  readonly url: string;
  /** Requests served so far. */
  readonly requests: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** Serves a JSON Web Key Set at `/jwks.json` (its `keys` read on every request, so tests can swap them). */
export async function startJwksServer(keys: () => unknown[]): Promise<LocalServer> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys() }));
  });
  const base = await listen(server);
  return {
    url: `${base}/jwks.json`,
    get requests() {
      return requests;
    },
    close: closer(server),
  };
}

/**
 * A tiny Secrets Manager emulator: `GetSecretValue` only (JSON 1.1 protocol), for `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 */
export interface SecretsServer extends LocalServer {
  /** Sets (or rotates) a secret's SecretString. */
  /** Sets a version of a secret: the current one by default, or the one of `stage` (e.g. `AWSPREVIOUS`). */
  put(secretId: string, secretString: string, stage?: string): void;
}

export async function startSecretsServer(): Promise<SecretsServer> {
  const secrets = new Map<string, string>();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const reply = (status: number, body: unknown, type?: string) =>
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...(type ? { 'x-amzn-ErrorType': type } : {}) }).end(JSON.stringify(body));
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        reply(400, { __type: 'InvalidAction', message: 'only GetSecretValue' }, 'InvalidAction');
        return;
      }
      const { SecretId, VersionStage } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string; VersionStage?: string };
      const value = secrets.get(VersionStage && VersionStage !== 'AWSCURRENT' ? `${SecretId}@${VersionStage}` : SecretId);
      if (value === undefined) {
        reply(400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can\'t find the specified secret.' }, 'ResourceNotFoundException');
        return;
      }
      reply(200, { ARN: SecretId, Name: SecretId, SecretString: value, VersionId: `v${requests}`, VersionStages: [VersionStage ?? 'AWSCURRENT'] });
    });
  });
  const url = await listen(server);
  return {
    url,
    get requests() {
      return requests;
    },
    put: (id, value, stage) => void secrets.set(stage && stage !== 'AWSCURRENT' ? `${id}@${stage}` : id, value),
    close: closer(server),
  };
}
