// @ts-check
/*
 * The chat page of cdk-websocket-chat's local gateway (plain browser JavaScript, no framework, no build step).
 * It speaks the wire protocol of DESIGN §2: connect to `URL?room_id=ROOM&token=JWT`, send
 * {"action":"sendMessage","message":…} and {"action":"ping"}, receive "message" and "error" frames.
 *
 * Every piece of text that came from the network or the user is rendered with textContent, never as HTML.
 */
(function chatPage() {
  'use strict';

  /** Room ids the backend accepts (DESIGN §2). */
  const ROOM_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
  /** The idle timeout is 10 minutes: ping well within it. `?ping=SECONDS` overrides (tests). */
  const DEFAULT_PING_SECONDS = 4 * 60;
  /** Reconnect backoff: 0.5 s doubling to at most 30 s, each delay jittered to 50–100 % of its value. */
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_CAP_MS = 30_000;
  /** Messages kept on screen. */
  const MAX_ITEMS = 500;

  /**
   * @template {HTMLElement} T
   * @param {string} id
   * @param {new () => T} type
   * @returns {T}
   */
  function byId(id, type) {
    const el = document.getElementById(id);
    if (!(el instanceof type)) throw new Error(`#${id} is missing`);
    return el;
  }

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
    messages: byId('messages', HTMLElement),
    composer: byId('composer', HTMLFormElement),
    message: byId('message', HTMLInputElement),
    send: byId('send', HTMLButtonElement),
    detail: byId('detail', HTMLElement),
  };

  /** @param {string} name */
  function meta(name) {
    const el = document.querySelector(`meta[name="${name}"]`);
    const value = el ? el.getAttribute('content') || '' : '';
    // Unfilled placeholders (the page opened without the gateway) count as absent.
    return value.startsWith('__CHAT_') ? '' : value;
  }

  const stage = meta('chat-stage');
  const devTokenPath = meta('chat-dev-token');
  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  /** The gateway this page came from, when it came from one. */
  const localUrl = stage && location.host ? `${wsScheme}//${location.host}/${stage}` : '';

  const params = new URLSearchParams(location.search);
  const pingSeconds = Math.max(1, Number(params.get('ping')) || DEFAULT_PING_SECONDS);

  ui.room.value = params.get('room') || ui.room.value;
  ui.name.value = params.get('name') || `guest-${Math.floor(1000 + Math.random() * 9000)}`;
  ui.url.value = params.get('url') || localUrl;
  ui.token.value = params.get('token') || '';
  if (params.has('url') || params.has('token') || !localUrl) ui.advanced.open = true;

  /**
   * The connection the user asked for, or undefined when disconnected by the user.
   * @typedef {{
   *   url: string, room: string, name: string, pastedToken: string,
   *   socket?: WebSocket, opened: boolean, everOpened: boolean, attempt: number,
   *   user?: string, retryTimer?: number, pingTimer?: number,
   * }} Session
   * @type {Session | undefined}
   */
  let session;
  /** message_id → seen: delivery is at least once, so a message may arrive twice. */
  const seen = new Set();

  // ---- connection state --------------------------------------------------------------------------------

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
    ui.message.disabled = state !== 'connected';
    ui.send.disabled = state !== 'connected';
  }

  /** @param {string} text */
  function showFormError(text) {
    ui.formError.textContent = text;
    ui.formError.hidden = !text;
  }

  /**
   * The delay before reconnect attempt `attempt` (0-based): exponential, capped, jittered.
   * @param {number} attempt
   */
  function backoffMs(attempt) {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

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
        return showFormError(
          'Paste a token for this URL: dev tokens are signed by the local gateway, for the local gateway only.',
        );
      }
    }
    session = { url, room, name, pastedToken, opened: false, everOpened: false, attempt: 0 };
    void open(session);
  }

  /** @param {Session} s */
  async function open(s) {
    setState(s.everOpened ? 'reconnecting' : 'connecting', s.everOpened ? 'Reconnecting…' : 'Connecting…');
    let token = s.pastedToken;
    if (!token) {
      try {
        // A fresh token on every attempt: a reconnect hours later must not reuse an expired one.
        token = await fetchDevToken(s.name);
      } catch (err) {
        if (session !== s) return;
        if (!s.everOpened) return fail(s, `Could not get a dev token: ${errorText(err)}.`);
        return retry(s, `Could not get a dev token: ${errorText(err)}.`);
      }
      if (session !== s) return;
    }
    s.user = tokenSubject(token) || (s.pastedToken ? undefined : s.name);
    const query = `room_id=${encodeURIComponent(s.room)}&token=${encodeURIComponent(token)}`;
    let socket;
    try {
      socket = new WebSocket(`${s.url}${s.url.includes('?') ? '&' : '?'}${query}`);
    } catch (err) {
      return fail(s, `Cannot open ${s.url}: ${errorText(err)}`);
    }
    s.socket = socket;
    s.opened = false;
    socket.addEventListener('open', () => onOpen(s, socket));
    socket.addEventListener('message', (event) => onFrame(s, event.data));
    socket.addEventListener('close', (event) => onClose(s, socket, event));
  }

  /**
   * @param {Session} s
   * @param {WebSocket} socket
   */
  function onOpen(s, socket) {
    if (session !== s || s.socket !== socket) return;
    const again = s.everOpened;
    s.opened = true;
    s.everOpened = true;
    s.attempt = 0;
    setState('connected', `Connected · ${s.room}`);
    addSystem(`${again ? 'Reconnected' : 'Connected'} to room “${s.room}” as ${s.user ?? 'the token’s user'}.`);
    clearInterval(s.pingTimer);
    s.pingTimer = window.setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: 'ping' }));
    }, pingSeconds * 1000);
    ui.message.focus();
  }

  /**
   * @param {Session} s
   * @param {WebSocket} socket
   * @param {CloseEvent} event
   */
  function onClose(s, socket, event) {
    clearInterval(s.pingTimer);
    if (session !== s || s.socket !== socket) return;
    s.socket = undefined;
    if (!s.opened && !s.everOpened) {
      // The handshake failed. Browsers do not reveal the HTTP status: 401/403 (token, room) or unreachable.
      return fail(
        s,
        'The connection was refused during the handshake: the token is invalid or expired, the room is not allowed, ' +
          'or the URL is unreachable (the server log says which).',
      );
    }
    const why = s.opened ? `Connection lost (code ${event.code}${event.reason ? `, ${event.reason}` : ''}).` : 'Reconnect failed.';
    retry(s, why);
  }

  /**
   * @param {Session} s
   * @param {string} why
   */
  function retry(s, why) {
    const delay = backoffMs(s.attempt++);
    const seconds = (delay / 1000).toFixed(1);
    setState('reconnecting', `Reconnecting in ${seconds} s`);
    addSystem(`${why} Reconnecting in ${seconds} s…`);
    clearTimeout(s.retryTimer);
    s.retryTimer = window.setTimeout(() => {
      if (session === s) void open(s);
    }, delay);
  }

  /**
   * @param {Session} s
   * @param {string} text
   */
  function fail(s, text) {
    if (session !== s) return;
    session = undefined;
    setState('failed', 'Not connected');
    addError('CONNECTION_FAILED', text);
  }

  function stop() {
    const s = session;
    session = undefined;
    if (s) {
      clearTimeout(s.retryTimer);
      clearInterval(s.pingTimer);
      s.socket?.close(1000, 'bye');
      addSystem('Disconnected.');
    }
    setState('disconnected', 'Disconnected');
  }

  // ---- frames ------------------------------------------------------------------------------------------

  /**
   * @param {Session} s
   * @param {unknown} data
   */
  function onFrame(s, data) {
    if (session !== s) return;
    const text = typeof data === 'string' ? data : '';
    /** @type {any} */
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return addSystem(`Unreadable frame: ${text.slice(0, 200)}`);
    }
    if (frame === null || typeof frame !== 'object') return addSystem(`Unexpected frame: ${text.slice(0, 200)}`);
    switch (frame.action) {
      case 'message':
        return addMessage(frame, s);
      case 'error':
        return addError(String(frame.code ?? 'ERROR'), String(frame.message ?? ''));
      case 'pong':
        ui.detail.textContent = `Last pong ${formatTime(new Date())} (ping every ${pingSeconds} s)`;
        return undefined;
      default:
        // e.g. API Gateway's {"message":"Internal server error",…} when a route handler fails.
        return addError('SERVER', typeof frame.message === 'string' ? frame.message : text.slice(0, 200));
    }
  }

  /**
   * @param {{ message_id?: unknown, user_id?: unknown, message?: unknown, timestamp?: unknown }} frame
   * @param {Session} s
   */
  function addMessage(frame, s) {
    if (typeof frame.message_id === 'string') {
      if (seen.has(frame.message_id)) return;
      seen.add(frame.message_id);
    }
    const user = String(frame.user_id ?? '?');
    const item = document.createElement('li');
    item.className = user === s.user ? 'message own' : 'message';
    item.dataset.user = user;
    const metaLine = document.createElement('div');
    metaLine.className = 'meta';
    const who = document.createElement('span');
    who.className = 'user';
    who.textContent = user;
    const when = document.createElement('time');
    const date = new Date(String(frame.timestamp ?? ''));
    if (Number.isNaN(date.getTime())) {
      when.textContent = String(frame.timestamp ?? '');
    } else {
      when.dateTime = date.toISOString();
      when.title = date.toISOString();
      when.textContent = formatTime(date);
    }
    metaLine.append(who, when);
    const body = document.createElement('div');
    body.className = 'text';
    body.textContent = String(frame.message ?? '');
    item.append(metaLine, body);
    append(item);
  }

  /**
   * @param {string} code
   * @param {string} text
   */
  function addError(code, text) {
    const item = document.createElement('li');
    item.className = 'error';
    item.dataset.code = code;
    const codeEl = document.createElement('span');
    codeEl.className = 'code';
    codeEl.textContent = code;
    const textEl = document.createElement('span');
    textEl.className = 'text';
    textEl.textContent = text;
    item.append(codeEl, textEl);
    append(item);
  }

  /** @param {string} text */
  function addSystem(text) {
    const item = document.createElement('li');
    item.className = 'system';
    item.textContent = text;
    append(item);
  }

  /** @param {HTMLElement} item */
  function append(item) {
    const list = ui.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(item);
    while (list.children.length > MAX_ITEMS) list.firstElementChild?.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  /** @param {Date} date */
  function formatTime(date) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** @param {unknown} err */
  function errorText(err) {
    return err instanceof Error ? err.message : String(err);
  }

  // ---- wiring ------------------------------------------------------------------------------------------

  ui.join.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!session) start();
  });
  ui.disconnect.addEventListener('click', stop);
  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.message.value;
    const socket = session?.socket;
    if (!text.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ action: 'sendMessage', message: text }));
    ui.message.value = '';
  });
  // Back online: do not wait out the backoff.
  window.addEventListener('online', () => {
    const s = session;
    if (s && !s.socket && s.everOpened) {
      clearTimeout(s.retryTimer);
      void open(s);
    }
  });

  setState('disconnected', 'Disconnected');
  if (!localUrl && !ui.url.value) showFormError('Enter the WebSocket URL of your stack and a token.');
})();
