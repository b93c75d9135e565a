import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLocalCaller, refuseBrowserRequest } from './internal-http';
import { HandlerError } from './lambda-runtime';

/**
 * Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`, what `@aws-sdk/client-lambda`'s
 * `InvokeCommand` calls) on the gateway's port, so that backend code written against the SDK runs locally with an
 * `endpoint` override — and so do the handlers that invoke other functions (`AWS_ENDPOINT_URL_LAMBDA`).
 *
 * As Lambda answers: 200 with the result; 200 + `X-Amz-Function-Error: Unhandled` + `{errorType, errorMessage,
 * trace}` when the function throws (or times out); `X-Amz-Invocation-Type: Event` → 202 at once, the function runs
 * in the background and, when it fails, is retried twice more (Lambda's asynchronous retries, after 1 and 2
 * minutes by default), each failure logged; `DryRun` → 204; an unknown function → 404 `ResourceNotFoundException`;
 * a payload that is not JSON → 400 `InvalidRequestContentException`; too large → 413. Qualifiers (versions,
 * aliases) are ignored: every function has one version, `$LATEST`.
 *
 * Only callers on this machine are served (403 otherwise), and never a web page (a request with `Origin` → 403).
 * Signatures are not checked.
 */

export const INVOKE_PATH_PREFIX = '/2015-03-31/functions/';

/** Lambda's payload limits: 6 MB for a synchronous invocation; 1 MB for an asynchronous one. */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;

/** Lambda retries a failed asynchronous invocation twice: after about 1 minute, then 2 more. */
export const DEFAULT_ASYNC_RETRY_DELAYS_MS: readonly number[] = [60_000, 120_000];

export interface InvokeApiOptions {
  /** The local function name for a name, alias or ARN; undefined when there is none. */
  readonly resolve: (ref: string) => string | undefined;
  readonly invoke: (name: string, event: unknown, requestId: string) => Promise<unknown>;
  /** An ARN for a name, in error messages (`arn:aws:lambda:{region}:000000000000:function:{name}`). */
  readonly arnOf: (name: string) => string;
  readonly log: (line: string) => void;
  /** Delays before each retry of a failed asynchronous invocation. @default [60000, 120000] */
  readonly asyncRetryDelaysMs?: readonly number[];
  /** Keeps a background invocation in the gateway's in-flight set (for `settled()` and shutdown). */
  readonly track: <T>(promise: Promise<T>) => Promise<T>;
  /** Schedules a retry; the gateway cancels what is pending when it stops. */
  readonly schedule: (fn: () => void, delayMs: number) => void;
  readonly closing: () => boolean;
  /** Reports a finished asynchronous invocation (for tests and tools). */
  readonly onAsyncResult?: (result: AsyncInvocationResult) => void;
}

export interface AsyncInvocationResult {
  readonly functionName: string;
  readonly requestId: string;
  readonly attempts: number;
  readonly ok: boolean;
  readonly error?: { errorType: string; errorMessage: string };
}

/** The function reference of an invocations path (URL-decoded), or undefined when the path is not one. */
export function parseInvokePath(pathname: string): { ref: string } | 'other' | undefined {
  if (!pathname.startsWith(INVOKE_PATH_PREFIX)) return undefined;
  const rest = pathname.slice(INVOKE_PATH_PREFIX.length).split('/');
  if (rest.length !== 2 || rest[1] !== 'invocations' || rest[0] === '') return 'other';
  try {
    return { ref: decodeURIComponent(rest[0]) };
  } catch {
    return 'other';
  }
}

/**
 * The function name inside a reference: a name (`my-fn`, `my-fn:qualifier`), a partial ARN
 * (`123456789012:function:my-fn`) or an ARN (`arn:aws:lambda:us-east-1:123456789012:function:my-fn[:qualifier]`).
 */
export function functionNameOf(ref: string): string {
  const arn = /^arn:aws[a-zA-Z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(ref);
  if (arn) return arn[1];
  const partial = /^\d{12}:function:([^:]+)(?::[^:]+)?$/.exec(ref);
  if (partial) return partial[1];
  const qualified = /^([^:]+):[^:]+$/.exec(ref);
  if (qualified) return qualified[1];
  return ref;
}

/** Answers one Invoke API request. Returns false (nothing written) when the path is not the Invoke API's. */
export function handleInvokeRequest(req: IncomingMessage, res: ServerResponse, options: InvokeApiOptions): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const target = parseInvokePath(url.pathname);
  if (target === undefined) return false;
  if (!isLocalCaller(req)) {
    req.resume();
    sendError(res, 403, 'AccessDeniedException', 'The local Lambda Invoke API serves callers on this machine only');
    return true;
  }
  if (refuseBrowserRequest(req, res, 'AccessDeniedException')) return true;
  if (target === 'other') {
    req.resume();
    sendError(res, 404, 'UnknownOperationException', 'Only Invoke (POST /2015-03-31/functions/{name}/invocations) is served locally');
    return true;
  }
  void respond(req, res, target.ref, options).catch((err: Error) => {
    if (!res.headersSent) sendError(res, 500, 'ServiceException', err.message);
    else res.destroy();
  });
  return true;
}

async function respond(req: IncomingMessage, res: ServerResponse, ref: string, options: InvokeApiOptions): Promise<void> {
  const requestId = randomUUID();
  if (req.method !== 'POST') {
    req.resume();
    sendError(res, 405, 'MethodNotAllowedException', 'Invoke is POST', requestId);
    return;
  }
  const name = options.resolve(ref) ?? options.resolve(functionNameOf(ref));
  if (!name) {
    req.resume();
    const arn = ref.startsWith('arn:') ? ref : options.arnOf(functionNameOf(ref));
    sendError(res, 404, 'ResourceNotFoundException', `Function not found: ${arn}`, requestId);
    return;
  }
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (type !== 'RequestResponse' && type !== 'Event' && type !== 'DryRun') {
    req.resume();
    sendError(res, 400, 'InvalidParameterValueException', `Invalid InvocationType: ${type}`, requestId);
    return;
  }
  const limit = type === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
  const body = await readBody(req, limit);
  if (body === undefined) {
    sendError(res, 413, 'RequestTooLargeException', `Request must be smaller than ${limit} bytes for the ${type} invocation type`, requestId);
    return;
  }
  let event: unknown;
  try {
    // No payload: the function gets an empty object, as from Lambda.
    event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (err) {
    sendError(res, 400, 'InvalidRequestContentException', `Could not parse request body into json: ${(err as Error).message}`, requestId);
    return;
  }
  if (options.closing()) {
    sendError(res, 503, 'ServiceException', 'The local gateway is shutting down', requestId);
    return;
  }
  if (type === 'DryRun') {
    res.writeHead(204, { 'x-amzn-RequestId': requestId }).end();
    return;
  }
  if (type === 'Event') {
    res.writeHead(202, { 'x-amzn-RequestId': requestId, 'content-length': '0' }).end();
    runAsync(name, event, requestId, options);
    return;
  }

  let result: unknown;
  try {
    result = await options.invoke(name, event, requestId);
  } catch (err) {
    const payload = err instanceof HandlerError
      ? err.toPayload()
      : { errorType: (err as Error).name ?? 'Error', errorMessage: (err as Error).message, trace: [] };
    sendJson(res, 200, payload, { 'x-amzn-RequestId': requestId, 'X-Amz-Executed-Version': '$LATEST', 'X-Amz-Function-Error': 'Unhandled' });
    return;
  }
  sendJson(res, 200, result ?? null, { 'x-amzn-RequestId': requestId, 'X-Amz-Executed-Version': '$LATEST' });
}

/** An asynchronous invocation: up to three attempts, as Lambda's async invoke makes, each failure logged. */
function runAsync(name: string, event: unknown, requestId: string, options: InvokeApiOptions): void {
  const delays = options.asyncRetryDelaysMs ?? DEFAULT_ASYNC_RETRY_DELAYS_MS;
  const attempt = (n: number): void => {
    if (options.closing()) return;
    void options.track(
      options.invoke(name, event, requestId).then(
        () => options.onAsyncResult?.({ functionName: name, requestId, attempts: n, ok: true }),
        (err: Error) => {
          const error = { errorType: err instanceof HandlerError ? err.errorType : err.name, errorMessage: err.message };
          const what = `asynchronous invocation of ${name} (request ${requestId}) failed, attempt ${n} of ${delays.length + 1}: ` +
            `${error.errorType}: ${error.errorMessage}`;
          if (n <= delays.length && !options.closing()) {
            options.log(`${what}; retrying in ${formatDelay(delays[n - 1])}`);
            options.schedule(() => attempt(n + 1), delays[n - 1]);
          } else {
            options.log(`${what}; giving up (a deployed function would send the event to its on-failure destination)`);
            options.onAsyncResult?.({ functionName: name, requestId, attempts: n, ok: false, error });
          }
        },
      ),
    );
  };
  attempt(1);
}

function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** An error as Lambda answers it: the type in `x-amzn-ErrorType`, `{"Type":"User","Message":…}` as the body. */
function sendError(res: ServerResponse, status: number, errorType: string, message: string, requestId = randomUUID()): void {
  const body = { Type: status >= 500 ? 'Service' : 'User', Message: message };
  sendJson(res, status, body, { 'x-amzn-ErrorType': errorType, 'x-amzn-RequestId': requestId });
}
