import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

/** A JSON frame. */
export type Frame = Record<string, any>;

/** One handshake: the query it carried and the HTTP status it got (101 when accepted). */
export interface Attempt {
  readonly token: string | null;
  readonly roomId: string | null;
  readonly status: number;
}

/** One accepted connection, seen from the server. */
export class FakeConnection {
  readonly rooms = new Set<string>();
  /** Every frame the client sent on it. */
  readonly received: Frame[] = [];
  readonly openedAt = Date.now();
  closedAt?: number;

  constructor(readonly id: number, readonly userId: string, readonly socket: WebSocket) {
    socket.once('close', () => (this.closedAt = Date.now()));
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends a frame (an object as JSON, a string as it is). */
  send(frame: Frame | string): void {
    if (this.open) this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Drops the TCP connection without a close frame (a network failure, or API Gateway's 2-hour cut). */
  terminate(): void {
    this.socket.terminate();
  }
}

/** Actions the built-in protocol answers. */
const ANSWERED = new Set(['join', 'leave', 'presence', 'history', 'sendMessage']);

interface RoomLog {
  last: number;
  readonly stored: Frame[];
}

/** Room ids the server accepts. */
const ROOM_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * A scripted chat server on 127.0.0.1 that speaks the client protocol as the real handlers do (test/client/e2e-*
 * run the client against those): `join` (`INVALID_ROOM`, `FORBIDDEN_ROOM`, `TOO_MANY_ROOMS`, idempotent), `leave`,
 * `presence` (sorted users), `history` (after / before / the latest page, `has_more`), `sendMessage` (stored with a
 * per-room `seq`, fanned out to members, the sender's copy echoing `request_id`), `ping` (the `pong` echoing it),
 * `member_joined` / `member_left` to the other members, and `error` frames. Tests script faults through `refuse`,
 * `intercept`, `lose`, `forget`, `deliver` and `FakeConnection.terminate`.
 */
export class FakeChatServer {
  /** Starts a server on a free port. */
  static async start(): Promise<FakeChatServer> {
    const server = new FakeChatServer();
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(0, '127.0.0.1', () => resolve());
    });
    return server;
  }

  /** Every handshake so far. */
  readonly attempts: Attempt[] = [];
  /** Every accepted connection so far. */
  readonly connections: FakeConnection[] = [];
  /** Rooms whose `join` is refused with `FORBIDDEN_ROOM`. */
  readonly forbiddenRooms = new Set<string>();
  /** Most rooms one connection may be in (`TOO_MANY_ROOMS` past it). */
  maxRooms = 20;
  /** With history off, frames carry no `seq`, `joined` no `latest_seq`, and `history` is an unknown action. */
  historyEnabled = true;
  private readonly http: Server = createServer((_req, res) => res.writeHead(426).end());
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly rooms = new Map<string, RoomLog>();
  private readonly hanging: Duplex[] = [];
  private ids = 0;

  private constructor() {
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  /**
   * The HTTP status refusing a handshake with this token (0: never answer it); undefined accepts it (the token
   * is the user id).
   */
  refuse: (token: string | null) => number | undefined = () => undefined;
  /** Sees every client frame first; returning true takes it over (the built-in answer is not sent). */
  intercept: (connection: FakeConnection, frame: Frame) => boolean | void = () => false;

  /** The stage URL, without a query. */
  get url(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}/test`;
  }

  /** Connections that are open now. */
  live(): FakeConnection[] {
    return this.connections.filter((connection) => connection.open);
  }

  /** Every frame with this `action` that any client sent. */
  sent(action: string): Frame[] {
    return this.connections.flatMap((connection) => connection.received.filter((frame) => frame.action === action));
  }

  /** Stores a message in a room's history (next `seq`) without delivering it. */
  store(room: string, message = `m${this.ids + 1}`, userId = 'bob'): Frame {
    const log = this.log(room);
    const frame: Frame = {
      action: 'message',
      message_id: `msg-${++this.ids}`,
      room_id: room,
      ...(this.historyEnabled ? { seq: ++log.last } : {}),
      user_id: userId,
      message,
      timestamp: new Date().toISOString(),
    };
    if (this.historyEnabled) log.stored.push(frame);
    return frame;
  }

  /** Takes the room's next `seq` without storing anything under it (a store that failed). */
  lose(room: string): number {
    return ++this.log(room).last;
  }

  /**
   * Drops a connection's membership without telling it (the real server loses one when a broadcast's 410 races the
   * connection's handshake): the connection stops hearing the room, and its frames naming it get `ROOM_MISMATCH`.
   */
  forget(connection: FakeConnection, room: string): void {
    connection.rooms.delete(room);
  }

  /** Sends a frame to every live member of the room. */
  deliver(room: string, frame: Frame): void {
    for (const connection of this.live()) if (connection.rooms.has(room)) connection.send(frame);
  }

  /** Stores and delivers a message from another user. */
  post(room: string, message?: string, userId?: string): Frame {
    const frame = this.store(room, message, userId);
    this.deliver(room, frame);
    return frame;
  }

  /** Stores and delivers an event pushed to a room (events share the room's sequence). */
  pushEvent(room: string, type: string, data: unknown): Frame {
    const log = this.log(room);
    const frame: Frame = {
      action: 'event',
      event_id: `evt-${++this.ids}`,
      type,
      data,
      timestamp: new Date().toISOString(),
      room_id: room,
      ...(this.historyEnabled ? { seq: ++log.last } : {}),
    };
    if (this.historyEnabled) log.stored.push(frame);
    this.deliver(room, frame);
    return frame;
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    for (const connection of this.connections) connection.terminate();
    for (const socket of this.hanging) socket.destroy();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private log(room: string): RoomLog {
    let log = this.rooms.get(room);
    if (!log) this.rooms.set(room, (log = { last: 0, stored: [] }));
    return log;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const token = query.get('token');
    const roomId = query.get('room_id');
    const status = this.refuse(token);
    this.attempts.push({ token, roomId, status: status ?? 101 });
    if (status === 0) {
      this.hanging.push(socket);
      return;
    }
    if (status !== undefined) {
      socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new FakeConnection(this.connections.length + 1, token ?? 'anonymous', ws);
      this.connections.push(connection);
      if (roomId) this.enter(connection, roomId);
      ws.on('message', (data: Buffer) => this.received(connection, data.toString('utf8')));
      ws.once('close', () => {
        for (const room of [...connection.rooms]) this.exit(connection, room);
      });
    });
  }

  /** Adds a membership; `member_joined` to the others when it is the user's first connection in the room. */
  private enter(connection: FakeConnection, room: string): void {
    if (connection.rooms.has(room)) return;
    const first = !this.live().some((other) => other.userId === connection.userId && other.rooms.has(room));
    connection.rooms.add(room);
    if (!first) return;
    for (const other of this.live()) {
      if (other !== connection && other.rooms.has(room)) other.send({ action: 'member_joined', room_id: room, user_id: connection.userId });
    }
  }

  /** Removes a membership; `member_left` to the others when it was the user's last connection in the room. */
  private exit(connection: FakeConnection, room: string): void {
    if (!connection.rooms.delete(room)) return;
    if (this.live().some((other) => other !== connection && other.userId === connection.userId && other.rooms.has(room))) return;
    for (const other of this.live()) {
      if (other !== connection && other.rooms.has(room)) other.send({ action: 'member_left', room_id: room, user_id: connection.userId });
    }
  }

  private received(connection: FakeConnection, text: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      connection.send({ action: 'error', code: 'INVALID_JSON', message: 'not JSON' });
      return;
    }
    connection.received.push(frame);
    if (this.intercept(connection, frame)) return;
    this.answer(connection, frame);
  }

  /** The built-in protocol. */
  private answer(connection: FakeConnection, frame: Frame): void {
    const requestId = frame.request_id === undefined ? {} : { request_id: frame.request_id };
    const error = (code: string, message: string) => connection.send({ action: 'error', code, message, ...requestId });
    if (frame.room_id !== undefined && (typeof frame.room_id !== 'string' || !ROOM_ID.test(frame.room_id))) {
      if (ANSWERED.has(frame.action)) return error('INVALID_ROOM', '"room_id" must be 1-128 characters of A-Z a-z 0-9 _ . : -');
    }
    if (frame.room_id === undefined && (frame.action === 'join' || frame.action === 'leave' || frame.action === 'presence' || frame.action === 'history')) {
      return error('INVALID_ROOM', '"room_id" is required.');
    }
    const room: string | undefined = frame.room_id ?? (connection.rooms.size === 1 ? [...connection.rooms][0] : undefined);
    const member = room !== undefined && connection.rooms.has(room);
    switch (frame.action) {
      case 'ping':
        return connection.send({ action: 'pong', ...requestId });
      case 'join':
        if (this.forbiddenRooms.has(frame.room_id)) return error('FORBIDDEN_ROOM', `Your token does not allow the room ${JSON.stringify(frame.room_id)}.`);
        if (!connection.rooms.has(frame.room_id) && connection.rooms.size >= this.maxRooms) {
          return error('TOO_MANY_ROOMS', `A connection may be in at most ${this.maxRooms} rooms: leave one first.`);
        }
        this.enter(connection, frame.room_id);
        return connection.send({
          action: 'joined',
          room_id: frame.room_id,
          ...(this.historyEnabled ? { latest_seq: this.log(frame.room_id).last } : {}),
          ...requestId,
        });
      case 'leave':
        this.exit(connection, frame.room_id);
        return connection.send({ action: 'left', room_id: frame.room_id, ...requestId });
      case 'presence': {
        if (!member) return error('ROOM_MISMATCH', 'not a member');
        const members = this.live().filter((other) => other.rooms.has(room));
        const users = [...new Set(members.map((other) => other.userId))].sort();
        return connection.send({ action: 'presence', room_id: room, users, connections: members.length, truncated: false, ...requestId });
      }
      case 'history': {
        if (!this.historyEnabled) return error('UNKNOWN_ACTION', 'Valid actions: sendMessage, ping, join, leave, presence');
        if (!member) return error('ROOM_MISMATCH', 'not a member');
        if (frame.after_seq !== undefined && frame.before_seq !== undefined) return error('INVALID_MESSAGE', 'Give "after_seq" or "before_seq", not both.');
        const log = this.log(room);
        const limit = Math.min(frame.limit ?? 100, 100);
        // After a seq: ascending from it. Before a seq, or neither (the latest): the newest page, answered ascending.
        const forward = frame.after_seq !== undefined;
        const matching = forward
          ? log.stored.filter((stored) => stored.seq > frame.after_seq)
          : log.stored.filter((stored) => frame.before_seq === undefined || stored.seq < frame.before_seq);
        const page = forward ? matching.slice(0, limit) : matching.slice(-limit);
        return connection.send({
          action: 'history',
          room_id: room,
          messages: page,
          latest_seq: log.last,
          has_more: matching.length > page.length,
          ...requestId,
        });
      }
      case 'sendMessage': {
        if (!member) return error('ROOM_MISMATCH', 'not a member of that room');
        const message = this.store(room, frame.message, connection.userId);
        for (const other of this.live()) {
          if (other.rooms.has(room)) other.send(other === connection ? { ...message, ...requestId } : message);
        }
        return;
      }
      default:
        return error('UNKNOWN_ACTION', 'Valid actions: sendMessage, ping, join, leave, presence, history');
    }
  }
}
