import type { ChatError } from './errors';
import type { EventFrame, MemberFrame, MessageFrame } from './protocol';

/** The connection's state, as listeners see it. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A listener of one event. */
export type Listener<T> = (value: T) => void;

/** The events of a {@link ChatClient} and their payloads. */
export interface ChatClientEvents {
  /** A chat message: once each, and in `seq` order within a room. */
  message: MessageFrame;
  /** An event pushed by a backend: once each, room events in `seq` order. */
  event: EventFrame;
  /** A user's first connection joined one of the client's rooms. */
  member_joined: MemberFrame;
  /** A user's last connection left one of the client's rooms. */
  member_left: MemberFrame;
  /** The connection's state changed. */
  state: ConnectionState;
  /** An error no request was waiting for (or why the client stopped, before its `closed` state). */
  error: ChatError;
}
