import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SigV4Signer, type Credentials } from './sigv4';

/**
 * A lean client for Lambda's asynchronous `Invoke` (`InvocationType: Event`): one SigV4-signed POST to
 * `/2015-03-31/functions/{name}/invocations`. The endpoint is `AWS_ENDPOINT_URL_LAMBDA` (or `AWS_ENDPOINT_URL`)
 * when set — the local gateway's Invoke API — else Lambda's regional endpoint. Used by a broadcast to start its
 * fan-out workers; the SDK's Lambda client would add ~100 KB to the bundle for this one call.
 */
export interface AsyncInvoker {
  /** Queues one asynchronous invocation; resolves when Lambda accepted it (202), rejects otherwise. */
  invokeAsync(functionName: string, payload: unknown): Promise<void>;
}

export interface LambdaInvokeOptions {
  readonly region: string;
  readonly credentials: () => Promise<Credentials>;
  /** @default from the environment (see above) */
  readonly endpoint?: string;
  /** @default 3000 */
  readonly timeoutMs?: number;
}

/** Lambda refused or failed an invoke. */
export class InvokeError extends Error {
  constructor(readonly status: number, readonly errorType: string | undefined, message: string) {
    super(message);
    this.name = 'InvokeError';
  }
}

export function lambdaEndpoint(region: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.AWS_ENDPOINT_URL_LAMBDA ?? env.AWS_ENDPOINT_URL ?? `https://lambda.${region}.amazonaws.com`;
}

export function createLambdaInvoker(options: LambdaInvokeOptions): AsyncInvoker {
  const url = new URL(options.endpoint ?? lambdaEndpoint(options.region));
  const signer = new SigV4Signer(options.region, 'lambda');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const basePath = url.pathname.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 3000;
  return {
    async invokeAsync(functionName, payload) {
      const body = Buffer.from(JSON.stringify(payload), 'utf8');
      // The function name is a path segment: SigV4 encodes it once more when it signs.
      const path = `${basePath}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
      const headers = signer.sign('POST', url.host, path, body, { 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' }, await options.credentials());
      await new Promise<void>((resolve, reject) => {
        const req = send({
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port || undefined,
          method: 'POST',
          path,
          headers: { ...headers, 'content-length': String(body.byteLength) },
        }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === 202 || status === 200) return resolve();
            const errorType = res.headers['x-amzn-errortype'];
            const text = Buffer.concat(chunks).toString('utf8').slice(0, 300);
            reject(new InvokeError(status, typeof errorType === 'string' ? errorType.split(':')[0] : undefined, `Invoke ${functionName} answered ${status}: ${text}`));
          });
          res.on('error', reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`Invoke ${functionName}: no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    },
  };
}
