import type { IncomingMessage } from 'node:http';
import {
  authorizerEvent,
  connectEvent,
  disconnectEvent,
  formatRequestTime,
  messageEvent,
  newGatewayId,
  readHandshake,
  selectRoute,
  type ApiInfo,
  type ConnectionInfo,
} from '../../src/local/events';

/** API Gateway's event shapes and route selection. */

const api: ApiInfo = { apiId: 'abc123', stage: 'prod', domainName: '127.0.0.1:9999', region: 'us-east-1' };
const conn: ConnectionInfo = { connectionId: 'Abc123def456ghi=', connectedAt: 1_700_000_000_000, sourceIp: '10.0.0.1', userAgent: 'ua' };
const routes = new Set(['sendMessage', 'ping']);
const buf = (s: string) => Buffer.from(s);

test('route selection on $request.body.action', () => {
  expect(selectRoute(buf('{"action":"sendMessage","message":"x"}'), false, routes)).toBe('sendMessage');
  expect(selectRoute(buf('{"action":"ping"}'), false, routes)).toBe('ping');
  for (const body of ['{"action":"Ping"}', '{"action":1}', '{}', '[]', 'null', '"ping"', 'nope', '', '{"action":"$default"}']) {
    expect(selectRoute(buf(body), false, routes)).toBe('$default');
  }
  expect(selectRoute(buf('{"action":"ping"}'), true, routes)).toBe('$default');
});

test('ids and times look like API Gateway', () => {
  const ids = new Set(Array.from({ length: 100 }, () => newGatewayId()));
  expect(ids.size).toBe(100);
  for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{15}=$/);
  expect(formatRequestTime(Date.UTC(2024, 3, 9, 7, 5, 3))).toBe('09/Apr/2024:07:05:03 +0000');
});

test('handshake: header spelling kept, repeated names and parameters in the multi-value maps', () => {
  const req = { rawHeaders: ['Host', 'h', 'X-Multi', 'a', 'x-multi', 'b', 'X-Multi', 'c'] } as unknown as IncomingMessage;
  const handshake = readHandshake(req, new URL('http://h/prod?token=t&tag=1&tag=2'), '10.0.0.1', 9999);
  expect(handshake.headers).toMatchObject({ 'Host': 'h', 'X-Multi': 'c', 'x-multi': 'b', 'X-Forwarded-For': '10.0.0.1', 'X-Forwarded-Port': '9999' });
  expect(handshake.multiValueHeaders['X-Multi']).toEqual(['a', 'c']);
  expect(handshake.queryStringParameters).toEqual({ token: 't', tag: '2' });
  expect(handshake.multiValueQueryStringParameters).toEqual({ token: ['t'], tag: ['1', '2'] });

  const auth = authorizerEvent(api, conn, handshake);
  expect(auth).toMatchObject({
    type: 'REQUEST',
    methodArn: 'arn:aws:execute-api:us-east-1:000000000000:abc123/prod/$connect',
    stageVariables: {},
    requestContext: { routeKey: '$connect', eventType: 'CONNECT', connectionId: conn.connectionId, identity: { sourceIp: '10.0.0.1', userAgent: 'ua' } },
  });
  expect(auth.requestContext.authorizer).toBeUndefined();
});

test('$connect without a query string has no query maps', () => {
  const req = { rawHeaders: [] } as unknown as IncomingMessage;
  const event = connectEvent(api, conn, readHandshake(req, new URL('http://h/prod'), '10.0.0.1', 1), { userId: 'u' });
  expect(event.queryStringParameters).toBeUndefined();
  expect(event.requestContext.authorizer).toEqual({ userId: 'u' });
});

test('message and disconnect events', () => {
  const message = messageEvent(api, conn, 'ping', buf('{"action":"ping"}'), false, { userId: 'u' });
  expect(message).toMatchObject({ body: '{"action":"ping"}', isBase64Encoded: false, requestContext: { eventType: 'MESSAGE', routeKey: 'ping', messageDirection: 'IN' } });
  expect(message.requestContext.messageId).toMatch(/=$/);
  expect(messageEvent(api, conn, '$default', buf('\u00ff'), true, undefined)).toMatchObject({ body: 'w78=', isBase64Encoded: true });
  const disconnect = disconnectEvent(api, conn, 1001, 'Going away', { userId: 'u' });
  expect(disconnect.requestContext).toMatchObject({ routeKey: '$disconnect', eventType: 'DISCONNECT', disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  expect(disconnect.body).toBeUndefined();
});
