// @ts-check
/*
 * The chat page of cdk-websocket-chat's local gateway: plain browser JavaScript over cdk-websocket-chat-client
 * (packages/client), bundled with view.js into the one script the page loads (scripts/page-script.cjs).
 *
 * One client, one socket, several rooms: a room list (join, switch, leave), the current room's presence (the
 * `presence` answer kept up to date by member events), "Load earlier" (history before the lowest seq shown), events
 * pushed by backends shown apart from messages. The client reconnects and replays by itself; after every reconnect
 * the page also reads `history` from the last seq it shows in each room, so what it shows is complete even across a
 * new client (Disconnect, then Connect). Items are de-duplicated by message_id / event_id and placed in seq order.
 */
import { ChatClient } from '../../../packages/client/src/index';
import { byId, errorItem, eventItem, messageItem, noticeItem, place, seqRange, el } from './view.js';

/** @typedef {import('../../../packages/client/src/index').MessageFrame} MessageFrame */
/** @typedef {import('../../../packages/client/src/index').EventFrame} EventFrame */
/** @typedef {import('../../../packages/client/src/index').ChatError} ChatError */
/** @typedef {import('../../../packages/client/src/index').ConnectionState} ConnectionState */

/** Room ids the backend accepts. */
const ROOM_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Items kept per room; older ones are dropped (and can be loaded again). */
const MAX_ITEMS = 1000;
/** Frames per "Load earlier" page. */
const PAGE = 50;

const ui = {
  status: byId('status', HTMLElement),
  statusText: byId('status-text', HTMLElement),
  join: byId('join', HTMLFormElement),
  room: byId('room', HTMLInputElement),
  name: byId('name', HTMLInputElement),
  connect: byId('connect', HTMLButtonElement),
  disconnect: byId('disconnect', HTMLButtonElement),
  advanced: byId('advanced', HTMLDetailsElement),
  url: byId('url', HTMLInputElement),
  token: byId('token', HTMLInputElement),
  formError: byId('form-error', HTMLElement),
  rooms: byId('rooms', HTMLUListElement),
  addRoom: byId('add-room', HTMLFormElement),
  newRoom: byId('new-room', HTMLInputElement),
  addRoomButton: byId('add-room-button', HTMLButtonElement),
  presence: byId('presence', HTMLUListElement),
  roomTitle: byId('room-title', HTMLElement),
  earlier: byId('earlier', HTMLButtonElement),
  messages: byId('messages', HTMLElement),
  composer: byId('composer', HTMLFormElement),
  message: byId('message', HTMLInputElement),
  send: byId('send', HTMLButtonElement),
  detail: byId('detail', HTMLElement),
};

/** @param {string} name */
function meta(name) {
  const node = document.querySelector(`meta[name="${name}"]`);
  const value = node ? node.getAttribute('content') || '' : '';
  // Unfilled placeholders (the page opened without the gateway) count as absent.
  return value.startsWith('__CHAT_') ? '' : value;
}

const stage = meta('chat-stage');
const devTokenPath = meta('chat-dev-token');
const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
/** The gateway this page came from, when it came from one. */
const localUrl = stage && location.host ? `${wsScheme}//${location.host}/${stage}` : '';

const params = new URLSearchParams(location.search);
/** Ping after this long without a frame (the client's default is 5 minutes); `?ping=SECONDS` (tests). */
const pingSeconds = Number(params.get('ping')) || undefined;

ui.room.value = params.get('room') || ui.room.value;
ui.name.value = params.get('name') || `guest-${Math.floor(1000 + Math.random() * 9000)}`;
ui.url.value = params.get('url') || localUrl;
ui.token.value = params.get('token') || '';
if (params.has('url') || params.has('token') || !localUrl) ui.advanced.open = true;

/**
 * A room on the page: its list of items and what the page knows about it.
 * @typedef {{
 *   id: string, list: HTMLOListElement, entry: HTMLLIElement, ids: Set<string>, members: Set<string>,
 *   floor?: number, more: boolean, joined: boolean, fresh: number,
 * }} Room
 */
/** @type {Map<string, Room>} */
const rooms = new Map();
/** The room shown. @type {string | undefined} */
let current;
/** Where items without a room go while no room is shown (events pushed to the user). */
const loose = el('ol', 'log');
loose.dataset.room = '';
ui.messages.append(loose);

/**
 * The connection the user asked for; undefined before Connect and after Disconnect or a failure.
 * @typedef {{
 *   client: ChatClient, url: string, name: string, pastedToken: string, readonly user?: string,
 *   opened: boolean, lost: boolean, stopping: boolean, refused?: ChatError,
 * }} Session
 * @type {Session | undefined}
 */
let session;
/** The URL and user of the last session, to keep its rooms when the next one is the same. */
let lastIdentity = '';

// ---- status ----------------------------------------------------------------------------------------------

/**
 * @param {'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed'} state
 * @param {string} text
 */
function setState(state, text) {
  ui.status.dataset.state = state;
  ui.statusText.textContent = text;
  const active = state === 'connecting' || state === 'connected' || state === 'reconnecting';
  ui.connect.hidden = active;
  ui.disconnect.hidden = !active;
  for (const input of [ui.room, ui.name, ui.url, ui.token]) input.disabled = active;
  ui.newRoom.disabled = !active;
  ui.addRoomButton.disabled = !active;
  updateComposer();
}

function updateComposer() {
  const ready = ui.status.dataset.state === 'connected' && current !== undefined && rooms.get(current)?.joined === true;
  ui.message.disabled = !ready;
  ui.send.disabled = !ready;
}

/** @param {string} text */
function showFormError(text) {
  ui.formError.textContent = text;
  ui.formError.hidden = !text;
}

// ---- tokens ----------------------------------------------------------------------------------------------

/**
 * The `sub` of a JWT, for display only (the server decides who the user is).
 * @param {string} token
 * @returns {string | undefined}
 */
function tokenSubject(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A dev token from the local gateway for `name`.
 * @param {string} name
 * @returns {Promise<string>}
 */
async function fetchDevToken(name) {
  const res = await fetch(devTokenPath, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: name }),
    cache: 'no-store',
    credentials: 'omit',
  });
  /** @type {{ token?: string, message?: string }} */
  let body = {};
  try {
    body = await res.json();
  } catch {
    // not JSON: reported below
  }
  if (!res.ok || typeof body.token !== 'string') {
    throw new Error(`the gateway refused a dev token (${res.status}${body.message ? `: ${body.message}` : ''})`);
  }
  return body.token;
}

// ---- the session -----------------------------------------------------------------------------------------

function start() {
  showFormError('');
  const room = ui.room.value.trim();
  const name = ui.name.value.trim();
  const url = ui.url.value.trim();
  const pastedToken = ui.token.value.trim();
  if (!ROOM_PATTERN.test(room)) {
    return showFormError('The room must be 1–128 characters: letters, digits, "_", ".", ":" or "-".');
  }
  if (!/^wss?:\/\/[^/?#\s]+/i.test(url)) return showFormError('The WebSocket URL must start with ws:// or wss://.');
  if (!pastedToken) {
    if (!name) return showFormError('Pick a name.');
    if (!devTokenPath || url !== localUrl) {
      return showFormError('Paste a token for this URL: dev tokens are signed by the local gateway, for the local gateway only.');
    }
  }
  // The same URL and user again: keep the rooms and what they show, and catch up. Anyone else: start afresh.
  const identity = `${url}\n${pastedToken || name}`;
  if (identity !== lastIdentity) for (const id of [...rooms.keys()]) removeRoom(id);
  lastIdentity = identity;

  /** @type {{ user?: string }} */
  const who = {};
  const client = new ChatClient({
    url,
    // A fresh token for every connection: a reconnect hours later must not reuse an expired one.
    getToken: async () => {
      const token = pastedToken || (await fetchDevToken(name));
      who.user = tokenSubject(token) || (pastedToken ? undefined : name);
      return token;
    },
    ...(pingSeconds ? { pingAfterMs: pingSeconds * 1000 } : {}),
  });
  /** @type {Session} */
  const s = { client, url, name, pastedToken, get user() { return who.user; }, opened: false, lost: false, stopping: false };
  session = s;
  s.client.on('state', (state) => onState(s, state));
  s.client.on('message', (frame) => session === s && show(frame));
  s.client.on('event', (frame) => session === s && show(frame));
  s.client.on('member_joined', (frame) => session === s && member(frame.room_id, frame.user_id, true));
  s.client.on('member_left', (frame) => session === s && member(frame.room_id, frame.user_id, false));
  s.client.on('error', (error) => {
    if (session !== s) return;
    if (error.code === 'REFUSED') s.refused = error;
    else addTo(currentList(), errorItem(error.code, error.message));
  });
  setState('connecting', 'Connecting…');
  for (const kept of rooms.values()) kept.fresh = 0;
  for (const id of rooms.keys()) void joinRoom(id);
  if (!rooms.has(room)) void joinRoom(room);
}

/**
 * @param {Session} s
 * @param {ConnectionState} state
 */
function onState(s, state) {
  if (session !== s) return;
  switch (state) {
    case 'open': {
      const again = s.lost;
      s.opened = true;
      s.lost = false;
      setState('connected', `Connected as ${s.user ?? 'the token’s user'}`);
      ui.detail.textContent = `${s.url} · one socket for all rooms`;
      // Back after a loss: the client re-joined and replayed before saying open; check each room against history.
      if (again) for (const room of rooms.values()) if (room.joined) void catchUp(s, room);
      for (const id of rooms.keys()) void refreshPresence(id);
      return;
    }
    case 'reconnecting':
      s.lost = true;
      setState('reconnecting', 'Reconnecting…');
      for (const room of rooms.values()) {
        room.fresh = 0;
        addTo(room.list, noticeItem('Connection lost. Reconnecting…'));
      }
      return;
    case 'closed':
      session = undefined;
      if (s.stopping) {
        setState('disconnected', 'Disconnected');
        addTo(currentList(), noticeItem('Disconnected.'));
      } else {
        setState('failed', 'Not connected');
        addTo(
          currentList(),
          errorItem(
            'CONNECTION_FAILED',
            s.opened
              ? 'The connection was lost and the chat refused to reconnect (the token may have expired). Connect again to catch up.'
              : 'The connection was refused during the handshake: the token is invalid or expired, or the URL is unreachable ' +
                  '(the server log says which).',
          ),
        );
      }
      for (const room of rooms.values()) room.joined = false;
      renderRooms();
      return;
    default:
      setState('connecting', 'Connecting…');
  }
}

/**
 * After a reconnect (or a new client for the same user): read a room's history from the last seq it shows, page by
 * page (what is already shown is skipped by id), then say it caught up and how many messages came since the loss.
 * @param {Session} s
 * @param {Room} room
 */
async function catchUp(s, room) {
  // The last seq shown, or (nothing shown yet) the room's latest seq when it was joined.
  const from = seqRange(room.list).high ?? (room.floor === undefined ? undefined : room.floor - 1);
  try {
    for (let after = from; after !== undefined; ) {
      const page = await s.client.history(room.id, { afterSeq: after, limit: 100 });
      for (const frame of page.messages) show(frame);
      const last = page.messages.length > 0 ? page.messages[page.messages.length - 1].seq : undefined;
      after = page.has_more && last !== undefined && last > after ? last : undefined;
    }
  } catch (error) {
    if (session === s) addTo(room.list, errorItem(codeOf(error), `Could not catch up: ${textOf(error)}`));
    return;
  }
  if (session !== s || rooms.get(room.id) !== room) return;
  const count = room.fresh === 1 ? '1 new message' : `${room.fresh} new messages`;
  addTo(room.list, noticeItem(`Reconnected · caught up (${count}).`));
}

function stop() {
  const s = session;
  if (!s) return;
  s.stopping = true;
  s.client.close();
}

// ---- rooms -----------------------------------------------------------------------------------------------

/**
 * The page's entry for a room, made on first use.
 * @param {string} id
 * @returns {Room}
 */
function roomOf(id) {
  let room = rooms.get(id);
  if (room) return room;
  const list = el('ol', 'log');
  list.dataset.room = id;
  list.hidden = true;
  ui.messages.append(list);
  const entry = el('li', '');
  entry.dataset.room = id;
  const select = el('button', 'select', id);
  select.type = 'button';
  select.addEventListener('click', () => showRoom(id));
  const leave = el('button', 'leave', '×');
  leave.type = 'button';
  leave.title = `Leave ${id}`;
  leave.setAttribute('aria-label', `Leave ${id}`);
  leave.addEventListener('click', () => void leaveRoom(id));
  entry.append(select, leave);
  ui.rooms.append(entry);
  room = { id, list, entry, ids: new Set(), members: new Set(), more: false, joined: false, fresh: 0 };
  rooms.set(id, room);
  return room;
}

/**
 * Joins a room (or joins it again, after a new client): it shows, with its presence, once the server said `joined`.
 * @param {string} id
 */
async function joinRoom(id) {
  const s = session;
  if (!s) return;
  const room = roomOf(id);
  if (current === undefined) showRoom(id);
  try {
    const joined = await s.client.join(id);
    if (session !== s || rooms.get(id) !== room) return;
    // A room kept from the last session (Disconnect, then Connect): fill in what it missed meanwhile.
    const kept = !room.joined && room.floor !== undefined;
    room.joined = true;
    if (kept) void catchUp(s, room);
    if (room.floor === undefined && joined.latest_seq !== undefined) {
      // Live messages start after latest_seq; earlier ones are loaded on demand.
      room.floor = joined.latest_seq + 1;
      room.more = joined.latest_seq > 0;
    }
    renderRooms();
    void refreshPresence(id);
  } catch (error) {
    if (session !== s) return;
    addTo(currentList(), errorItem(codeOf(error), `Could not join ${id}: ${textOf(error)}`));
    if (!room.joined && room.ids.size === 0) removeRoom(id);
  }
}

/** @param {string} id */
async function leaveRoom(id) {
  const s = session;
  if (s) {
    try {
      await s.client.leave(id);
    } catch (error) {
      addTo(currentList(), errorItem(codeOf(error), `Could not leave ${id}: ${textOf(error)}`));
      return;
    }
  }
  removeRoom(id);
}

/** @param {string} id */
function removeRoom(id) {
  const room = rooms.get(id);
  if (!room) return;
  rooms.delete(id);
  room.list.remove();
  room.entry.remove();
  if (current === id) showRoom(rooms.keys().next().value);
}

/**
 * Shows a room (or none).
 * @param {string | undefined} id
 */
function showRoom(id) {
  current = id !== undefined && rooms.has(id) ? id : undefined;
  for (const list of ui.messages.children) {
    if (list instanceof HTMLElement) list.hidden = list.dataset.room !== (current ?? '');
  }
  ui.roomTitle.textContent = current ?? 'No room';
  renderRooms();
  const list = currentList();
  list.scrollTop = list.scrollHeight;
}

function renderRooms() {
  for (const room of rooms.values()) {
    room.entry.classList.toggle('current', room.id === current);
    room.entry.classList.toggle('pending', !room.joined);
    if (room.id === current) room.entry.setAttribute('aria-current', 'true');
    else room.entry.removeAttribute('aria-current');
  }
  const room = current === undefined ? undefined : rooms.get(current);
  ui.earlier.hidden = !room || !room.more;
  renderPresence();
  updateComposer();
}

/** The list items go to while no room is named: the current room's, or the loose one. */
function currentList() {
  return (current !== undefined && rooms.get(current)?.list) || loose;
}

// ---- presence --------------------------------------------------------------------------------------------

/** @param {string} id */
async function refreshPresence(id) {
  const s = session;
  const room = rooms.get(id);
  if (!s || !room || !room.joined) return;
  try {
    const answer = await s.client.presence(id);
    room.members = new Set(answer.users);
    if (id === current) renderPresence();
  } catch {
    // Presence is informative; member events keep it roughly right.
  }
}

/**
 * @param {string} id
 * @param {string} user
 * @param {boolean} here
 */
function member(id, user, here) {
  const room = rooms.get(id);
  if (!room) return;
  if (here) room.members.add(user);
  else room.members.delete(user);
  if (id === current) renderPresence();
}

function renderPresence() {
  const room = current === undefined ? undefined : rooms.get(current);
  const users = room ? [...room.members].sort() : [];
  ui.presence.replaceChildren(
    ...users.map((user) => {
      const item = el('li', user === session?.user ? 'me' : '', user);
      item.dataset.user = user;
      return item;
    }),
  );
}

// ---- items -----------------------------------------------------------------------------------------------

/**
 * Shows a message or event once (by message_id / event_id), in its room's list in seq order. Events pushed to the user
 * (no room) go to the list in view.
 * @param {MessageFrame | EventFrame} frame
 * @returns {boolean} whether it is new
 */
function show(frame) {
  const room = frame.room_id === undefined ? undefined : rooms.get(frame.room_id);
  if (frame.room_id !== undefined && !room) return false;
  const id = frame.action === 'message' ? `m:${frame.message_id}` : `e:${frame.event_id}`;
  const ids = room ? room.ids : looseIds;
  if (ids.has(id)) return false;
  ids.add(id);
  const item = frame.action === 'message' ? messageItem(frame, frame.user_id === session?.user) : eventItem(frame);
  const list = room ? room.list : currentList();
  const atBottom = isAtBottom(list);
  if (room) room.fresh++;
  place(list, item, frame.seq);
  // Trim only for what arrives at the end: "Load earlier" may take a list past the cap.
  if (!item.nextElementSibling) trim(list, room);
  if (atBottom) list.scrollTop = list.scrollHeight;
  return true;
}
/** Ids of the events shown outside any room. */
const looseIds = new Set();

/**
 * @param {HTMLElement} list
 * @param {HTMLElement} item
 */
function addTo(list, item) {
  const atBottom = isAtBottom(list);
  list.append(item);
  trim(list, undefined);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

/** @param {HTMLElement} list */
function isAtBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

/**
 * Keeps a list under MAX_ITEMS, dropping the oldest; they can be loaded again.
 * @param {HTMLElement} list
 * @param {Room | undefined} room
 */
function trim(list, room) {
  if (list.children.length <= MAX_ITEMS) return;
  while (list.children.length > MAX_ITEMS && list.firstElementChild) list.firstElementChild.remove();
  if (room) {
    room.more = true;
    room.floor = seqRange(list).low ?? room.floor;
  }
}

/** "Load earlier": the page of history before the lowest seq shown. */
async function loadEarlier() {
  const s = session;
  const room = current === undefined ? undefined : rooms.get(current);
  if (!s || !room) return;
  const before = Math.min(seqRange(room.list).low ?? Infinity, room.floor ?? Infinity);
  if (!Number.isFinite(before)) return;
  ui.earlier.disabled = true;
  try {
    const page = await s.client.history(room.id, { beforeSeq: before, limit: PAGE });
    const top = room.list.scrollHeight - room.list.scrollTop;
    for (const frame of page.messages) show(frame);
    room.more = page.has_more && page.messages.length > 0;
    if (page.messages.length > 0) room.floor = Math.min(before, page.messages[0].seq ?? before);
    // Keep the view where it was: the new items are above it.
    room.list.scrollTop = room.list.scrollHeight - top;
  } catch (error) {
    addTo(room.list, errorItem(codeOf(error), `Could not load earlier messages: ${textOf(error)}`));
  } finally {
    ui.earlier.disabled = false;
    renderRooms();
  }
}

/** @param {unknown} error */
function codeOf(error) {
  return error && typeof error === 'object' && 'code' in error ? String(error.code) : 'ERROR';
}

/** @param {unknown} error */
function textOf(error) {
  return error instanceof Error ? error.message : String(error);
}

// ---- wiring ----------------------------------------------------------------------------------------------

ui.join.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!session) start();
});
ui.disconnect.addEventListener('click', stop);
ui.addRoom.addEventListener('submit', (event) => {
  event.preventDefault();
  const id = ui.newRoom.value.trim();
  if (!ROOM_PATTERN.test(id)) {
    addTo(currentList(), errorItem('INVALID_ROOM', 'A room is 1–128 characters: letters, digits, "_", ".", ":" or "-".'));
    return;
  }
  ui.newRoom.value = '';
  showRoom(roomOf(id).id);
  void joinRoom(id);
});
ui.earlier.addEventListener('click', () => void loadEarlier());
ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const s = session;
  const room = current;
  const text = ui.message.value;
  if (!s || room === undefined || !text.trim()) return;
  ui.message.value = '';
  s.client.send(room, text).catch((error) => {
    const list = rooms.get(room)?.list ?? currentList();
    addTo(list, errorItem(codeOf(error), textOf(error)));
  });
});
// Back online after the client gave up: connect again (the rooms catch up).
window.addEventListener('online', () => {
  if (!session && ui.status.dataset.state === 'failed' && lastIdentity) start();
});

setState('disconnected', 'Disconnected');
if (!localUrl && !ui.url.value) showFormError('Enter the WebSocket URL of your stack and a token.');
