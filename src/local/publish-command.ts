import { request } from 'node:http';
import type { PublishOptions } from './args';
import { INVOKE_PATH_PREFIX } from './invoke-api';
import { urlHost } from './listen';

/**
 * `cdk-websocket-chat-local publish …`: invokes the running gateway's `publish` function through its Lambda Invoke
 * API — what a backend does with `@aws-sdk/client-lambda` — and prints the answer.
 */

/** The local name of the publish function. */
export const PUBLISH_FUNCTION = 'publish';

export interface PublishOutcome {
  /** 0 on success; 1 on a function error or when no gateway answers. */
  readonly exitCode: number;
  /** What to print on stdout (the function's answer) or stderr (the error). */
  readonly stdout?: string;
  readonly stderr?: string;
}

export async function runPublish(options: PublishOptions): Promise<PublishOutcome> {
  const base = `http://${urlHost(options.host.replace(/^\[(.*)\]$/, '$1'))}:${options.port}`;
  const url = `${base}${INVOKE_PATH_PREFIX}${PUBLISH_FUNCTION}/invocations`;
  let answer: { status: number; functionError?: string; body: string };
  try {
    answer = await post(url, JSON.stringify(options.payload));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      exitCode: 1,
      stderr: `error: no gateway answers at ${base} (${code ?? (err as Error).message}): start one with \`npx cdk-websocket-chat-local\`` +
        (options.port === 8080 ? '' : ` --port ${options.port}`),
    };
  }
  if (answer.status !== 200) {
    return { exitCode: 1, stderr: `error: the gateway answered ${answer.status}: ${messageOf(answer.body)}` };
  }
  if (answer.functionError) {
    let detail = answer.body;
    try {
      const payload = JSON.parse(answer.body) as { errorType?: string; errorMessage?: string };
      detail = `${payload.errorType ?? 'Error'}: ${payload.errorMessage ?? ''}`;
    } catch {
      // not JSON: print it as it is
    }
    return { exitCode: 1, stderr: `error: publish failed: ${detail}` };
  }
  return { exitCode: 0, stdout: answer.body };
}

function messageOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { Message?: string; message?: string };
    return parsed.Message ?? parsed.message ?? body;
  } catch {
    return body;
  }
}

function post(url: string, body: string): Promise<{ status: number; functionError?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const functionError = res.headers['x-amz-function-error'];
          resolve({ status: res.statusCode ?? 0, functionError: typeof functionError === 'string' ? functionError : undefined, body: text });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('timed out after 60 s')));
    req.on('error', reject);
    req.end(body);
  });
}
