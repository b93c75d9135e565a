import type { ResolvedOptions } from './defaults';
import { ChatError } from './errors';
import type { ConnectionState } from './events';
import { backoffDelay, between } from './jitter';
import { Link } from './link';
import type { TimerSet, Timer } from './timers';

/** What the {@link Connector} asks of the client. */
export interface ConnectorHooks {
  /** A new link opened: re-join and replay on it. It takes over when the promise settles. */
  prepare(link: Link): Promise<void>;
  /** A link took over: requests go to it from now on. */
  activate(link: Link): void;
  /** A frame arrived. */
  frame(link: Link, frame: Record<string, unknown>): void;
  /** A link is gone (dropped, dead, or retired): its requests must move or fail. */
  ended(link: Link): void;
  /** The state changed; `error` says why the client stopped. */
  state(state: ConnectionState, error?: ChatError): void;
}

/**
 * Keeps one connection up: dials with a fresh token, pings when idle, drops a silent link, reconnects with
 * jittered backoff, stops after repeated refused handshakes, and rotates to a new connection before API
 * Gateway's 2-hour limit (the new link takes over before the old one closes).
 */
export class Connector {
  /** The link requests go to; undefined while (re)connecting. */
  active?: Link;
  /** The link being brought up (a reconnect or a rotation). */
  private next?: Link;
  private readonly links = new Set<Link>();
  private dialing = false;
  private stopped = false;
  /** Consecutive closes before `open`. */
  private refusals = 0;
  /** Consecutive failed attempts, for the backoff. */
  private failures = 0;
  private retryTimer?: Timer;
  private rotateTimer?: Timer;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly timers: TimerSet,
    private readonly url: (token: string) => string,
    private readonly hooks: ConnectorHooks,
  ) {}

  /** Starts the first connection. */
  start(): void {
    void this.dial();
  }

  /** Closes every link, cancels every timer, and reports `closed` (with `error` when the client gave up). */
  stop(error?: ChatError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.clear(this.retryTimer);
    this.timers.clear(this.rotateTimer);
    this.active = this.next = undefined;
    for (const link of [...this.links]) this.end(link);
    this.hooks.state('closed', error);
  }

  private async dial(): Promise<void> {
    this.dialing = true;
    let link: Link;
    try {
      const token = await this.options.getToken();
      if (this.stopped) return;
      link = new Link(this.options.WebSocket, this.url(token), {
        open: (opened) => this.opened(opened),
        frame: (from, frame) => this.received(from, frame),
        close: (closed) => this.lost(closed),
      });
    } catch {
      // getToken failed, or the URL was refused before any socket existed: a failed handshake.
      this.dialing = false;
      if (!this.stopped) this.failed(false);
      return;
    }
    this.dialing = false;
    this.next = link;
    this.links.add(link);
    link.timer = this.timers.start(() => this.lost(link), this.options.connectTimeoutMs);
  }

  private opened(link: Link): void {
    this.refusals = 0;
    this.idle(link);
    void this.hooks.prepare(link).then(() => this.promote(link));
  }

  private promote(link: Link): void {
    if (!this.links.has(link) || link !== this.next) return;
    const old = this.active;
    this.next = undefined;
    this.active = link;
    this.failures = 0;
    this.rotateTimer = this.timers.start(() => this.rotate(), between(this.options.rotateAfterMs, this.options.random));
    this.hooks.activate(link);
    this.hooks.state('open');
    if (old) this.timers.start(() => this.end(old), this.options.overlapMs);
  }

  private rotate(): void {
    if (!this.next && !this.dialing) void this.dial();
  }

  private received(link: Link, frame: Record<string, unknown>): void {
    link.awaitingPong = false;
    this.idle(link);
    this.hooks.frame(link, frame);
  }

  /** (Re)starts the idle timer: after `pingAfterMs` of silence a ping; silence after that means the link is dead. */
  private idle(link: Link): void {
    this.timers.clear(link.timer);
    link.timer = this.timers.start(() => {
      link.awaitingPong = link.send({ action: 'ping' });
      link.timer = this.timers.start(() => this.lost(link), this.options.requestTimeoutMs);
    }, this.options.pingAfterMs);
  }

  /** A link closed or was found dead. */
  private lost(link: Link): void {
    const { active, next } = this;
    if (link === active) this.active = undefined;
    if (link === next) this.next = undefined;
    this.end(link);
    if (this.stopped) return;
    if (link === next) {
      this.failed(link.opened);
    } else if (link === active) {
      this.timers.clear(this.rotateTimer);
      this.hooks.state('reconnecting');
      if (!this.next && !this.dialing) this.retry();
    }
  }

  /** An attempt failed; `opened` says whether its handshake had completed. */
  private failed(opened: boolean): void {
    if (!opened && ++this.refusals > this.options.maxRefusals) {
      this.refusals = 0;
      // A rotation keeps failing: stay on the working link until it ends, then try again from scratch.
      if (this.active) return;
      return this.stop(new ChatError('REFUSED', `the chat refused ${this.options.maxRefusals + 1} connections in a row (token or room not accepted?)`));
    }
    this.retry();
  }

  private retry(): void {
    const delay = backoffDelay(this.failures++, this.options.backoffBaseMs, this.options.backoffMaxMs, this.options.random);
    this.retryTimer = this.timers.start(() => void this.dial(), delay);
  }

  /** Closes a link and its timer, once. */
  private end(link: Link): void {
    if (!this.links.delete(link)) return;
    this.timers.clear(link.timer);
    link.close();
    this.hooks.ended(link);
  }
}
