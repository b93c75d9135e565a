import { AUTH_CONTEXT, isValidRoomId, LIMITS } from '../../shared/contract';

/**
 * The fields of an API Gateway WebSocket route event (`$connect`, `$disconnect`, `sendMessage`, …) that the
 * handlers read. The local gateway builds the same shape.
 */
export interface WebSocketRouteEvent {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey?: string;
    readonly apiId?: string;
    readonly stage?: string;
    readonly requestId?: string;
    /** The authorizer's context (`userId`, `roomId`), plus `principalId` and API Gateway's own keys. */
    readonly authorizer?: Readonly<Record<string, unknown>> | null;
  };
}

/** What a route handler returns to API Gateway. */
export interface RouteResult {
  readonly statusCode: number;
}

/** The subset of the Lambda context the handlers use. */
export interface InvocationContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

/** Who is on a connection, as established by the `$connect` authorizer. */
export interface ConnectionIdentity {
  readonly userId: string;
  readonly roomId: string;
}

/**
 * The identity the authorizer put in `requestContext.authorizer`, or undefined when it is missing or malformed
 * (a route reached without the authorizer: never trusted).
 */
export function readIdentity(event: WebSocketRouteEvent): ConnectionIdentity | undefined {
  const context = event.requestContext.authorizer;
  const userId = context?.[AUTH_CONTEXT.userId];
  const roomId = context?.[AUTH_CONTEXT.roomId];
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > LIMITS.maxUserIdLength) return undefined;
  if (!isValidRoomId(roomId)) return undefined;
  return { userId, roomId };
}

/** The frame's text (base64-decoded when API Gateway flagged it), or undefined when there is no body. */
export function bodyText(event: WebSocketRouteEvent): string | undefined {
  const { body } = event;
  if (body === undefined || body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}
