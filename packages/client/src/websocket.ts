/**
 * The part of the WHATWG `WebSocket` the client uses: the browser's, Node ≥ 22's global one, or `ws`'s.
 * (Handler parameters are `any` so that every implementation's own event types fit.)
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Called once the handshake completed. */
  onopen: ((event: any) => void) | null;
  /** Called with each frame; `event.data` is a string for a text frame. */
  onmessage: ((event: any) => void) | null;
  /** Called once when the connection closed (also when the handshake was refused). */
  onclose: ((event: any) => void) | null;
  /** Called on a failure; a close follows. */
  onerror: ((event: any) => void) | null;
  /** Sends a text frame. */
  send(data: string): void;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` class: `new WebSocket(url)`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;
