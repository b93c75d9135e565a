import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { refuseBrowserRequest } from './internal-http';
import { listenOnFreePort } from './listen';

/**
 * A tiny Secrets Manager endpoint (AWS JSON 1.1 protocol, `GetSecretValue` only) on loopback, so the
 * authorizer bundle reads its HS256 key exactly as in AWS: through `AWS_ENDPOINT_URL_SECRETS_MANAGER`. Requests
 * from web pages (`Origin`) are refused.
 */

export interface LocalSecret {
  readonly arn: string;
  readonly name: string;
  readonly secretString: string;
}

export interface SecretsEmulator {
  /** `http://host:port` — the value of `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  /** Adds (or replaces) a secret and returns it with its ARN. */
  put(name: string, secretString: string): LocalSecret;
  close(): Promise<void>;
}

export function secretArn(region: string, accountId: string, name: string): string {
  // Secrets Manager appends a dash and 6 random characters to the name.
  const suffix = randomBytes(6).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 6);
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
}

export async function startSecretsEmulator(options: {
  readonly host: string;
  readonly region: string;
  readonly accountId: string;
}): Promise<SecretsEmulator> {
  const secrets = new Map<string, LocalSecret & { versionId: string; createdDate: number }>();

  const server = createServer((req, res) => {
    // A web page open in the developer's browser must not read the key.
    if (refuseBrowserRequest(req, res, 'AccessDeniedException')) return;
    void handle(req, res).catch((err: Error) => sendJson(res, 500, { __type: 'InternalServiceError', message: err.message }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
      sendJson(res, 400, { __type: 'UnknownOperationException', message: `Operation not supported locally: ${target || req.method}` });
      return;
    }
    let secretId: unknown;
    try {
      secretId = (JSON.parse(body || '{}') as { SecretId?: unknown }).SecretId;
    } catch {
      sendJson(res, 400, { __type: 'SerializationException', message: 'Request body is not JSON' });
      return;
    }
    const secret = typeof secretId === 'string' ? secrets.get(secretId) : undefined;
    if (!secret) {
      sendJson(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      return;
    }
    sendJson(res, 200, {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.secretString,
      VersionId: secret.versionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate,
    });
  }

  const endpoint = await listenOnFreePort(server, options.host);

  return {
    endpoint,
    put(name, secretString) {
      const arn = secretArn(options.region, options.accountId, name);
      const entry = { arn, name, secretString, versionId: randomUUID(), createdDate: Date.now() / 1000 };
      // Remove a previous version of the same secret, then index by name and ARN (both are valid SecretIds).
      for (const [key, value] of secrets) if (value.name === name) secrets.delete(key);
      secrets.set(name, entry);
      secrets.set(arn, entry);
      return { arn, name, secretString };
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  };
  if (typeof body.__type === 'string') headers['x-amzn-errortype'] = body.__type;
  res.writeHead(status, headers);
  res.end(text);
}
