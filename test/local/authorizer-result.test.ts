import { decideOnError, decideOnResult, wildcardMatch } from '../../src/local/authorizer-result';

/** How an authorizer's answer becomes a handshake decision (API Gateway's rules). */

const ARN = 'arn:aws:execute-api:us-east-1:000000000000:local/dev/$connect';
const policy = (...statements: Array<Record<string, unknown>>) => ({ principalId: 'alice', policyDocument: { Version: '2012-10-17', Statement: statements } });
const allow = (Resource: unknown = ARN, Action: unknown = 'execute-api:Invoke') => ({ Effect: 'Allow', Action, Resource });

test('Allow on the method ARN passes the context, stringified, with principalId and integrationLatency', () => {
  const decision = decideOnResult({ ...policy(allow()), context: { userId: 'alice', n: 1, b: false, z: null, u: undefined } }, ARN, 12);
  expect(decision).toEqual({
    allow: true,
    authorizer: { userId: 'alice', n: '1', b: 'false', z: null, principalId: 'alice', integrationLatency: 12 },
  });
});

test.each([
  ['wildcard resource', allow('arn:aws:execute-api:us-east-1:*:local/*')],
  ['resource list', allow(['arn:other', ARN])],
  ['action wildcard', allow(ARN, 'execute-api:*')],
  ['single statement object', undefined],
])('Allow via %s', (_name, statement) => {
  const result = statement ? policy(statement) : { principalId: 'a', policyDocument: { Statement: allow() } };
  expect(decideOnResult(result, ARN, 0).allow).toBe(true);
});

test('Deny wins; no matching statement is 403; a malformed answer is 500', () => {
  expect(decideOnResult(policy(allow(), { ...allow(), Effect: 'Deny' }), ARN, 0)).toMatchObject({ allow: false, statusCode: 403 });
  expect(decideOnResult(policy(allow('arn:aws:execute-api:us-east-1:000000000000:other/dev/$connect')), ARN, 0)).toMatchObject({
    allow: false,
    statusCode: 403,
  });
  expect(decideOnResult(policy(allow(ARN, 's3:GetObject')), ARN, 0)).toMatchObject({ statusCode: 403 });
  for (const bad of [undefined, null, 'Allow', { principalId: 'x' }, { policyDocument: {} }]) {
    expect(decideOnResult(bad, ARN, 0)).toMatchObject({ allow: false, statusCode: 500 });
  }
});

test('context values must be strings, numbers or booleans, within 8 KB', () => {
  expect(decideOnResult({ ...policy(allow()), context: { rooms: ['a'] } }, ARN, 0)).toMatchObject({ statusCode: 500, reason: expect.stringMatching(/array/) });
  expect(decideOnResult({ ...policy(allow()), context: { o: { a: 1 } } }, ARN, 0)).toMatchObject({ statusCode: 500 });
  expect(decideOnResult({ ...policy(allow()), context: 'x' }, ARN, 0)).toMatchObject({ statusCode: 500 });
  expect(decideOnResult({ ...policy(allow()), context: { big: 'x'.repeat(9000) } }, ARN, 0)).toMatchObject({ statusCode: 500 });
  // Sizes count the values as given: a rooms claim of ~6 KB (JSON, with many quotes) passes, as the authorizer allows.
  const rooms = JSON.stringify(Array.from({ length: 1228 }, (_, i) => `r${i % 10}`));
  expect(Buffer.byteLength(rooms)).toBeGreaterThan(6000);
  expect(decideOnResult({ ...policy(allow()), context: { userId: 'alice', rooms } }, ARN, 0)).toMatchObject({ allow: true });
});

test('a thrown Unauthorized is 401, anything else 500', () => {
  expect(decideOnError(new Error('Unauthorized'))).toMatchObject({ allow: false, statusCode: 401 });
  expect(decideOnError(new Error('unauthorized!'))).toMatchObject({ allow: false, statusCode: 500 });
});

test('wildcard matching', () => {
  expect(wildcardMatch('a*c', 'abbbc')).toBe(true);
  expect(wildcardMatch('a?c', 'abc')).toBe(true);
  expect(wildcardMatch('a?c', 'abbc')).toBe(false);
  expect(wildcardMatch('a.c', 'abc')).toBe(false);
  expect(wildcardMatch('$connect', '$connect')).toBe(true);
});
