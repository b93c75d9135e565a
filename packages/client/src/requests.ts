import type { Link } from './link';
import type { Timer } from './timers';

/** A request waiting for its answer. */
export interface Pending {
  readonly id: string;
  readonly frame: Record<string, unknown>;
  /** Send it again on the next connection if the one it went out on drops (idempotent requests). */
  readonly retry: boolean;
  /** A retry after the client joined the request's room again (`ROOM_MISMATCH`): not healed twice. */
  readonly healed: boolean;
  /** The link it went out on; undefined while it waits for a connection. */
  link?: Link;
  timer?: Timer;
  readonly resolve: (frame: never) => void;
  readonly reject: (error: Error) => void;
}

/** Requests by `request_id`. */
export class RequestTable {
  private counter = 0;
  private readonly pending = new Map<string, Pending>();

  /** Registers a request and gives it a fresh `request_id`. */
  add(frame: Record<string, unknown>, retry: boolean, healed: boolean, resolve: (frame: never) => void, reject: (error: Error) => void): Pending {
    const request: Pending = { id: (++this.counter).toString(36), frame, retry, healed, resolve, reject };
    this.pending.set(request.id, request);
    return request;
  }

  /** Removes and returns the request with this id. */
  take(id: unknown): Pending | undefined {
    const request = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (request) this.pending.delete(request.id);
    return request;
  }

  /** Requests sent on `link` (or, for `undefined`, not sent yet), in the order they were made. */
  on(link: Link | undefined): Pending[] {
    return [...this.pending.values()].filter((request) => request.link === link);
  }

  /** Every request. */
  all(): Pending[] {
    return [...this.pending.values()];
  }
}
