import { Connector } from './connector';
import { resolveOptions, type ResolvedOptions } from './defaults';
import { Emitter } from './emitter';
import { ChatError, type ChatErrorCode } from './errors';
import type { ChatClientEvents, ConnectionState, Listener } from './events';
import type { Link } from './link';
import type { ChatClientOptions } from './options';
import type {
  EventFrame,
  HistoryFrame,
  HistoryQuery,
  JoinedFrame,
  LeftFrame,
  MemberFrame,
  MessageFrame,
  PresenceFrame,
} from './protocol';
import { RecentIds } from './recent-ids';
import { RequestTable, type Pending } from './requests';
import { RoomSequencer } from './sequencer';
import { TimerSet } from './timers';
import { utf8Length } from './utf8';

/** One room the client is in. */
interface Room {
  readonly id: string;
  readonly order: RoomSequencer<MessageFrame | EventFrame>;
  /** The history read in progress to fill a gap. */
  filling?: Promise<void>;
}

/** API Gateway's limit on one WebSocket frame, in bytes. */
const MAX_FRAME_BYTES = 32 * 1024;

/** Server codes after which a join cannot succeed by retrying: the room is dropped. */
const PERMANENT: readonly ChatErrorCode[] = ['FORBIDDEN_ROOM', 'INVALID_ROOM', 'TOO_MANY_ROOMS'];

/**
 * A client of the chat's WebSocket protocol. It connects at once, keeps the connection up (pings, reconnects
 * with backoff, a fresh token per connection, a seamless switch before the 2-hour limit), re-joins its rooms
 * and replays what it missed, and hands every message to listeners once, in order.
 *
 * @example
 * const chat = new ChatClient({ url: 'wss://chat.example.com/prod', getToken: fetchToken });
 * chat.on('message', (m) => console.log(`${m.user_id}: ${m.message}`));
 * await chat.join('lobby');
 * await chat.send('lobby', 'hello');
 */
export class ChatClient {
  private readonly options: ResolvedOptions;
  private readonly timers: TimerSet;
  private readonly events = new Emitter<ChatClientEvents>();
  private readonly requests = new RequestTable();
  private readonly rooms = new Map<string, Room>();
  private readonly seen = new RecentIds(1000);
  private readonly connector: Connector;
  private current: ConnectionState = 'connecting';

  /** Starts connecting; throws a `TypeError` when there is no token source or no `WebSocket`. */
  constructor(options: ChatClientOptions) {
    this.options = resolveOptions(options);
    this.timers = new TimerSet(this.options.timers);
    if (this.options.room !== undefined) this.addRoom(this.options.room);
    this.connector = new Connector(this.options, this.timers, (token) => this.url(token), {
      prepare: (link) => this.prepare(link),
      activate: (link) => this.flush(link),
      frame: (link, frame) => this.received(link, frame),
      ended: (link) => this.ended(link),
      state: (state, error) => this.changed(state, error),
    });
    this.connector.start();
  }

  /** `connecting` (never open yet), `open`, `reconnecting` (lost, trying again) or `closed` (for good). */
  get state(): ConnectionState {
    return this.current;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof ChatClientEvents>(name: K, listener: Listener<ChatClientEvents[K]>): () => void {
    return this.events.on(name, listener);
  }

  /**
   * Joins a room (kept joined across reconnects) and resolves with the server's `joined` answer. Its messages
   * reach `message` listeners from then on. A refused join (`FORBIDDEN_ROOM`, …) drops the room again.
   */
  join(room: string): Promise<JoinedFrame> {
    if (!this.rooms.has(room)) this.addRoom(room);
    return this.request<JoinedFrame>({ action: 'join', room_id: room }, true).then(
      (joined) => {
        void this.synced(room, joined.latest_seq, this.connector.active);
        return joined;
      },
      (error: ChatError) => {
        if (PERMANENT.includes(error.code)) this.dropRoom(room);
        throw error;
      },
    );
  }

  /** Leaves a room: its frames stop reaching listeners at once; resolves with the server's `left` answer. */
  leave(room: string): Promise<LeftFrame> {
    this.dropRoom(room);
    return this.request<LeftFrame>({ action: 'leave', room_id: room }, true);
  }

  /**
   * Sends a message to a joined room; resolves with the server's copy of it (with its `message_id` and `seq`),
   * which also reaches `message` listeners. Rejects with `DISCONNECTED` if the connection dropped before the
   * answer: the message may or may not have been delivered.
   */
  send(room: string, text: string): Promise<MessageFrame> {
    return this.request<MessageFrame>({ action: 'sendMessage', room_id: room, message: text }, false);
  }

  /** The users of a joined room. */
  presence(room: string): Promise<PresenceFrame> {
    return this.request<PresenceFrame>({ action: 'presence', room_id: room }, true);
  }

  /** Reads a page of a joined room's history (the client already replays what it missed; this is for scrolling back). */
  history(room: string, query: HistoryQuery = {}): Promise<HistoryFrame> {
    return this.request<HistoryFrame>(
      { action: 'history', room_id: room, after_seq: query.afterSeq, before_seq: query.beforeSeq, limit: query.limit },
      true,
    );
  }

  /** Closes the connection for good: pending requests fail with `CLOSED` and every timer is cleared. */
  close(): void {
    this.connector.stop();
  }

  /**
   * The connection URL: the token only. Rooms (the `room` option too) are joined with `join` once the connection is
   * open, never with `room_id` in the URL: the answer carries the `latest_seq` the replay starts from, and a
   * membership made after the handshake cannot meet a broadcast that posts before the handshake completed (API
   * Gateway answers 410 then; servers before cdk-websocket-chat's fix deleted such a connection's items).
   */
  private url(token: string): string {
    const { url } = this.options;
    return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  }

  private addRoom(id: string): void {
    const order = new RoomSequencer<MessageFrame | EventFrame>(
      this.timers,
      this.options.gapTimeoutMs,
      (frame) => this.deliver(frame),
      () => void this.fill(id, this.connector.active),
    );
    this.rooms.set(id, { id, order });
  }

  private dropRoom(id: string): void {
    this.rooms.get(id)?.order.close();
    this.rooms.delete(id);
  }

  /**
   * A new link opened: re-join every room on it and replay what was missed, before it takes over (a room whose
   * `join` still waits for a connection is joined by that request, right after).
   */
  private async prepare(link: Link): Promise<void> {
    const queued = new Set(this.requests.on(undefined).map((request) => request.frame.action === 'join' && request.frame.room_id));
    await Promise.all(
      [...this.rooms.keys()].filter((id) => !queued.has(id)).map(async (id) => {
        try {
          const joined = await this.request<JoinedFrame>({ action: 'join', room_id: id }, false, link);
          await this.synced(id, joined.latest_seq, link);
        } catch (error) {
          const { code } = error as ChatError;
          if (code === 'DISCONNECTED' || code === 'CLOSED') return;
          if (PERMANENT.includes(code)) this.dropRoom(id);
          this.events.emit('error', error as ChatError);
        }
      }),
    );
  }

  /** The room's latest `seq` is known: read what is missing up to it. */
  private synced(id: string, latest: number | undefined, link: Link | undefined): Promise<void> {
    this.rooms.get(id)?.order.sync(latest);
    return this.fill(id, link);
  }

  /** Reads a room's missing frames from `history` (one read at a time per room). */
  private fill(id: string, link: Link | undefined): Promise<void> {
    const room = this.rooms.get(id);
    if (!room || !link || room.order.missingAfter === undefined) return Promise.resolve();
    return (room.filling ??= this.replay(room, link).finally(() => (room.filling = undefined)));
  }

  private async replay(room: Room, link: Link): Promise<void> {
    try {
      for (let after = room.order.missingAfter; after !== undefined; ) {
        const page = await this.request<HistoryFrame>({ action: 'history', room_id: room.id, after_seq: after, limit: 100 }, false, link);
        if (this.rooms.get(room.id) !== room) return;
        let highest = after;
        for (const frame of page.messages) {
          highest = Math.max(highest, frame.seq ?? highest);
          this.accept(frame, room);
        }
        room.order.sync(page.latest_seq);
        // Next page: while more is stored, this page moved on, and frames are still missing below the latest.
        const more = page.has_more && highest > after && highest < room.order.latest && room.order.missingAfter !== undefined;
        after = more ? highest : undefined;
      }
    } catch {
      // The gap's timer skips what could not be read.
    }
  }

  private received(link: Link, frame: Record<string, unknown>): void {
    const request = this.requests.take(frame.request_id);
    if (request) this.settle(request, frame);
    switch (frame.action) {
      case 'message':
      case 'event':
        return this.accept(frame as unknown as MessageFrame | EventFrame);
      case 'member_joined':
      case 'member_left':
        // From the active link only: during a switch both links hear them.
        if (link !== this.connector.active || !this.rooms.has(frame.room_id as string)) return;
        return this.events.emit(frame.action, frame as unknown as MemberFrame);
      case 'error':
        if (!request) this.unmatched(link, new ChatError(frame.code as ChatErrorCode, String(frame.message)), frame.request_id === undefined);
        return;
      case undefined:
        // API Gateway's own frame when a handler failed: {"message":"Internal server error","connectionId":…}.
        if (typeof frame.message === 'string') this.unmatched(link, new ChatError('INTERNAL_ERROR', frame.message), true);
    }
  }

  /**
   * An error that names no request: it fails the request in flight on that link when there is exactly one
   * (and no ping), otherwise it goes to `error` listeners.
   */
  private unmatched(link: Link, error: ChatError, guess: boolean): void {
    const inFlight = this.requests.on(link);
    const request = guess && inFlight.length === 1 && !link.awaitingPong ? this.requests.take(inFlight[0].id) : undefined;
    if (request) this.settle(request, { action: 'error', code: error.code, message: error.message });
    else this.events.emit('error', error);
  }

  private settle(request: Pending, frame: Record<string, unknown>): void {
    this.timers.clear(request.timer);
    if (frame.action !== 'error') return request.resolve(frame as never);
    const error = new ChatError(frame.code as ChatErrorCode, String(frame.message), request.id);
    const room = request.frame.room_id;
    if (error.code === 'ROOM_MISMATCH' && !request.healed && typeof room === 'string' && this.rooms.has(room) && request.link) {
      // The retry's own answer settles the request; a join that fails too leaves the server's ROOM_MISMATCH.
      return void this.rejoin(room, request.link).then(
        () => this.request<never>(request.frame, request.retry, this.connector.active, true).then(request.resolve, request.reject),
        () => request.reject(error),
      );
    }
    request.reject(error);
  }

  /**
   * The server says the connection is not in a room the client has joined: it lost the membership (a 410 from a
   * broadcast that raced the connection's handshake removes it, for one). Join again on that link, read what was
   * missed, and let the caller send the request once more.
   */
  private async rejoin(id: string, link: Link): Promise<void> {
    const joined = await this.request<JoinedFrame>({ action: 'join', room_id: id }, false, link, true);
    await this.synced(id, joined.latest_seq, link);
  }

  /** A message or event frame, live or from history: in `seq` order per room, or once by id when it has no `seq`. */
  private accept(frame: MessageFrame | EventFrame, room = frame.room_id === undefined ? undefined : this.rooms.get(frame.room_id)): void {
    if (frame.room_id !== undefined && !room) return;
    if (room && typeof frame.seq === 'number') room.order.push(frame);
    else if (this.seen.add(frame.action === 'message' ? `m${frame.message_id}` : `e${frame.event_id}`)) this.deliver(frame);
  }

  private deliver(frame: MessageFrame | EventFrame): void {
    if (frame.action === 'message') this.events.emit('message', frame);
    else this.events.emit('event', frame);
  }

  /**
   * Sends a request (on `link`, or on the active link, or once one is up) and resolves with its answer.
   * `retry`: send it again on the next link if this one drops before the answer.
   */
  private request<T>(frame: Record<string, unknown>, retry: boolean, link = this.connector.active, healed = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.current === 'closed') return reject(new ChatError('CLOSED', 'the client is closed'));
      // The frame plus its request_id must fit in one API Gateway frame (a larger one closes the connection).
      if (utf8Length(JSON.stringify(frame)) + 32 > MAX_FRAME_BYTES) {
        return reject(new ChatError('MESSAGE_TOO_LARGE', `the frame exceeds ${MAX_FRAME_BYTES} bytes`));
      }
      const request = this.requests.add(frame, retry, healed, resolve as (answer: never) => void, reject);
      if (link) this.transmit(request, link);
    });
  }

  private transmit(request: Pending, link: Link): void {
    request.link = link;
    link.send({ ...request.frame, request_id: request.id });
    request.timer = this.timers.start(() => {
      if (this.requests.take(request.id)) request.reject(new ChatError('TIMEOUT', `no answer to ${String(request.frame.action)}`, request.id));
    }, this.options.requestTimeoutMs);
  }

  /** Sends every request that waits for a connection. */
  private flush(link: Link): void {
    for (const request of this.requests.on(undefined)) this.transmit(request, link);
  }

  /** A link is gone: idempotent requests wait for (or go to) the active link, the others fail with `DISCONNECTED`. */
  private ended(link: Link): void {
    for (const request of this.requests.on(link)) {
      this.timers.clear(request.timer);
      request.link = undefined;
      if (request.retry) continue;
      this.requests.take(request.id);
      request.reject(new ChatError('DISCONNECTED', `the connection dropped before the answer to ${String(request.frame.action)}`, request.id));
    }
    if (this.connector.active) this.flush(this.connector.active);
  }

  private changed(state: ConnectionState, error?: ChatError): void {
    const previous = this.current;
    this.current = state;
    if (state === 'closed') {
      for (const request of this.requests.all()) {
        this.requests.take(request.id);
        request.reject(error ?? new ChatError('CLOSED', 'the client was closed', request.id));
      }
      for (const room of this.rooms.values()) room.order.close();
      this.timers.clearAll();
      if (error) this.events.emit('error', error);
    }
    if (state !== previous) this.events.emit('state', state);
  }
}
