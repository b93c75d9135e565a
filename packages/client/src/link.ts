import type { Timer } from './timers';
import type { WebSocketConstructor, WebSocketLike } from './websocket';

/** What a {@link Link} reports. */
export interface LinkHandlers {
  open(link: Link): void;
  frame(link: Link, frame: Record<string, unknown>): void;
  /** The socket closed without `Link.close()` being called. */
  close(link: Link): void;
}

/** One WebSocket: JSON frames in and out, and the close reported once. */
export class Link {
  /** The handshake completed. */
  opened = false;
  /** A ping went out and nothing has arrived since. */
  awaitingPong = false;
  /** The link's one timer: the connect timeout before `open`, then the idle (ping) timer. */
  timer?: Timer;
  private done = false;
  private readonly socket: WebSocketLike;

  constructor(WebSocket: WebSocketConstructor, url: string, handlers: LinkHandlers) {
    const socket = (this.socket = new WebSocket(url));
    socket.onopen = () => {
      if (this.done) return;
      this.opened = true;
      handlers.open(this);
    };
    socket.onmessage = (event: { data: unknown }) => {
      if (this.done || typeof event.data !== 'string') return;
      let frame: unknown;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame !== null && typeof frame === 'object' && !Array.isArray(frame)) handlers.frame(this, frame as Record<string, unknown>);
    };
    socket.onclose = () => {
      if (this.done) return;
      this.done = true;
      handlers.close(this);
    };
    // A close event always follows an error event; some implementations throw on an error nobody listens to.
    socket.onerror = () => undefined;
  }

  /** Sends `frame` as JSON; false when the socket is not open. */
  send(frame: object): boolean {
    if (this.done || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Closes the socket; its close is not reported. */
  close(): void {
    if (this.done) return;
    this.done = true;
    try {
      this.socket.close(1000);
    } catch {
      // Already closing.
    }
  }
}
