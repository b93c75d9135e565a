import { backoffDelayMs, classifyPostError, httpStatusOf } from '../../../src/handlers/lib/retry';

const sdkError = (name: string, status?: number) =>
  Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

describe('classifyPostError', () => {
  test('only 410 is gone', () => {
    expect(classifyPostError(sdkError('GoneException', 410))).toBe('gone');
    expect(classifyPostError(sdkError('GoneException'))).toBe('gone');
    expect(classifyPostError(sdkError('UnknownError', 410))).toBe('gone');
  });

  test.each([429, 500, 502, 503, 504])('%i is retryable', (status) => {
    expect(classifyPostError(sdkError('X', status))).toBe('retryable');
  });

  test.each([301, 302, 307, 400, 401, 403, 404, 413])('%i is fatal (not retried)', (status) => {
    expect(classifyPostError(sdkError('X', status))).toBe('fatal');
  });

  test('timeouts, aborts and network errors are retryable', () => {
    expect(classifyPostError(sdkError('AbortError'))).toBe('retryable');
    expect(classifyPostError(sdkError('TimeoutError'))).toBe('retryable');
    expect(classifyPostError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('retryable');
    expect(classifyPostError(undefined)).toBe('retryable');
  });

  test('httpStatusOf reads $metadata, then $response', () => {
    expect(httpStatusOf({ $response: { statusCode: 503 } })).toBe(503);
    expect(httpStatusOf({})).toBeUndefined();
    expect(httpStatusOf(null)).toBeUndefined();
  });
});

describe('backoffDelayMs (full jitter)', () => {
  test('the ceiling doubles per attempt and is capped', () => {
    const top = () => 0.999999;
    expect(backoffDelayMs(1, 50, top)).toBe(49);
    expect(backoffDelayMs(2, 50, top)).toBe(99);
    expect(backoffDelayMs(3, 50, top)).toBe(199);
    expect(backoffDelayMs(20, 50, top)).toBe(1999);
    expect(backoffDelayMs(20, 50, top, 500)).toBe(499);
  });

  test('the delay is uniform from 0', () => {
    expect(backoffDelayMs(3, 50, () => 0)).toBe(0);
    expect(backoffDelayMs(3, 50, () => 0.5)).toBe(100);
  });
});
