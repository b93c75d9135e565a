import type { HandshakeRequest } from '../../src/local/events';
import { identitySourcesPresent, integrationResponse } from '../../src/local/handshake';

/** API Gateway's identity-source check and its reading of `$connect`'s answer. */

const request = (query: Record<string, string>, headers: Record<string, string> = {}): HandshakeRequest => ({
  headers,
  multiValueHeaders: {},
  queryStringParameters: query,
  multiValueQueryStringParameters: {},
});

test('every identity source must be present and non-empty', () => {
  const sources = ['route.request.querystring.token', 'route.request.header.Authorization'];
  expect(identitySourcesPresent(sources, request({ token: 't' }, { authorization: 'Bearer x' }))).toBe(true);
  expect(identitySourcesPresent(sources, request({ token: 't' }))).toBe(false);
  expect(identitySourcesPresent(sources, request({ token: '' }, { Authorization: 'x' }))).toBe(false);
  expect(identitySourcesPresent([], request({}))).toBe(true);
});

test("$connect's answer: status (200 when absent), body, subprotocol", () => {
  expect(integrationResponse(undefined)).toEqual({ statusCode: 200 });
  expect(integrationResponse({ statusCode: 401, body: 'no' })).toEqual({ statusCode: 401, body: 'no', protocol: undefined });
  expect(integrationResponse({ statusCode: '204' }).statusCode).toBe(204);
  expect(integrationResponse({ headers: { 'sec-websocket-protocol': 'chat' } })).toMatchObject({ statusCode: 200, protocol: 'chat' });
});
