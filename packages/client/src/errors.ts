import type { ServerErrorCode } from './protocol';

/**
 * Codes the client itself raises:
 * - `TIMEOUT`: no answer within `requestTimeoutMs`.
 * - `CLOSED`: the client was closed before the request settled.
 * - `DISCONNECTED`: the connection dropped while a `send` was in flight; it may or may not have been delivered.
 * - `REFUSED`: the handshake kept failing (closed before open, even with a fresh token); the client stopped.
 * - `INTERNAL_ERROR`: API Gateway's bare "Internal server error" frame (a handler failed).
 */
export type ClientErrorCode = 'TIMEOUT' | 'CLOSED' | 'DISCONNECTED' | 'REFUSED' | 'INTERNAL_ERROR';

/** Every code a {@link ChatError} may carry. */
export type ChatErrorCode = ServerErrorCode | ClientErrorCode;

/** A failed request or connection: `code` is the protocol's error code or one of the client's own. */
export class ChatError extends Error {
  /** The protocol code (`FORBIDDEN_ROOM`, …) or a client code (`TIMEOUT`, `CLOSED`, …). */
  readonly code: ChatErrorCode;
  /** The `request_id` of the request this error answers, when known. */
  readonly requestId?: string;

  /**
   * @param code - the error code
   * @param message - a human-readable description
   * @param requestId - the request it answers, when known
   */
  constructor(code: ChatErrorCode, message: string, requestId?: string) {
    super(message);
    this.name = 'ChatError';
    this.code = code;
    this.requestId = requestId;
  }
}
