import * as path from 'node:path';
import type { HandshakeRequest } from '../../src/local/events';
import { identitySourcesPresent, integrationResponse, parseSubprotocols } from '../../src/local/handshake';

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

test('Sec-WebSocket-Protocol is parsed exactly as ws parses it (so ws never refuses what the gateway let through)', () => {
  // ws's own parser (not exported by the package: loaded by path).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ws = require(path.join(path.dirname(require.resolve('ws')), 'lib', 'subprotocol.js')) as { parse(header: string): Set<string> };
  const corpus = [
    'chat', 'chat,v2', 'chat, v2', 'chat ,v2', 'chat\t,\tv2', 'a,b,c', 'x-y.z_1~!#$%&\'*+^`|', '', ' ', ',', 'a,', ',a', 'a,,b',
    'a b', ' a', 'a ', 'a, a', 'a,a', 'a;b', 'a/b', '"a"', 'a\u00e9', 'a,\tb , c', 'chat.v1, chat.v0',
  ];
  for (const header of corpus) {
    let expected: string[] | undefined;
    try {
      expected = [...ws.parse(header)];
    } catch {
      expected = undefined;
    }
    expect([header, parseSubprotocols(header)]).toEqual([header, expected]);
  }
});
