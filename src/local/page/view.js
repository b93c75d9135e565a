// @ts-check
/*
 * The chat page's DOM pieces: list items for messages, events, notices and errors, and their placement in seq order.
 * Every text that came from the network or the user is set with textContent, never parsed as HTML.
 */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing`);
  return el;
}

/**
 * An element with a class and, optionally, its text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} className
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {Date} date */
export function formatTime(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** @param {unknown} timestamp */
function timeOf(timestamp) {
  const when = el('time', '');
  const date = new Date(String(timestamp ?? ''));
  if (Number.isNaN(date.getTime())) {
    when.textContent = String(timestamp ?? '');
  } else {
    when.dateTime = date.toISOString();
    when.title = date.toISOString();
    when.textContent = formatTime(date);
  }
  return when;
}

/**
 * A chat message.
 * @param {{ user_id: string, message: string, timestamp: string, seq?: number }} frame
 * @param {boolean} own - sent by this page's user
 */
export function messageItem(frame, own) {
  const item = el('li', own ? 'message own' : 'message');
  item.dataset.user = frame.user_id;
  const meta = el('div', 'meta');
  meta.append(el('span', 'user', frame.user_id), timeOf(frame.timestamp));
  item.append(meta, el('div', 'text', frame.message));
  return item;
}

/**
 * An event pushed by a backend: its type and data, set apart from messages.
 * @param {{ type: string, data: unknown, timestamp: string, room_id?: string }} frame
 */
export function eventItem(frame) {
  const item = el('li', frame.room_id === undefined ? 'event direct' : 'event');
  item.dataset.type = frame.type;
  const meta = el('div', 'meta');
  meta.append(el('span', 'badge', frame.room_id === undefined ? 'event to you' : 'event'), el('span', 'type', frame.type), timeOf(frame.timestamp));
  let data;
  try {
    data = JSON.stringify(frame.data, null, 1);
  } catch {
    data = String(frame.data);
  }
  item.append(meta, el('pre', 'data', data ?? 'null'));
  return item;
}

/** @param {string} text */
export function noticeItem(text) {
  return el('li', 'system', text);
}

/**
 * @param {string} code
 * @param {string} text
 */
export function errorItem(code, text) {
  const item = el('li', 'error');
  item.dataset.code = code;
  item.append(el('span', 'code', code), el('span', 'text', text));
  return item;
}

/**
 * Puts `item` into `list` in `seq` order: before the first item with a higher seq, else at the end (an item without a
 * seq goes at the end). Notices have no seq: a frame that arrives after a notice stays after it.
 * @param {HTMLElement} list
 * @param {HTMLElement} item
 * @param {number | undefined} seq
 */
export function place(list, item, seq) {
  /** @type {Element | null} */
  let before = null;
  if (seq !== undefined) {
    item.dataset.seq = String(seq);
    for (let other = list.lastElementChild; other; other = other.previousElementSibling) {
      if (!(other instanceof HTMLElement) || other.dataset.seq === undefined) continue;
      const otherSeq = Number(other.dataset.seq);
      if (otherSeq < seq) break;
      before = other;
    }
  }
  list.insertBefore(item, before);
}

/**
 * The lowest and highest seq shown in a list.
 * @param {HTMLElement} list
 * @returns {{ low?: number, high?: number }}
 */
export function seqRange(list) {
  /** @type {{ low?: number, high?: number }} */
  const range = {};
  for (const item of list.querySelectorAll('[data-seq]')) {
    const seq = Number(/** @type {HTMLElement} */ (item).dataset.seq);
    if (range.low === undefined || seq < range.low) range.low = seq;
    if (range.high === undefined || seq > range.high) range.high = seq;
  }
  return range;
}
