import { LIMITS } from '../shared/contract';

/** The start-up text of the CLI: where to connect, ready tokens and commands to paste. */

export interface BannerInfo {
  readonly url: string;
  readonly managementEndpoint: string;
  /** `http://host:port/`, when the gateway serves the chat page. */
  readonly pageUrl?: string;
  /** Whether the page can get dev tokens from the gateway (`POST /dev-token`, loopback only). */
  readonly devTokenEndpoint?: boolean;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly persistDir?: string;
  readonly handlersDir: string;
  readonly idleTimeoutSeconds: number;
  readonly maxDurationSeconds: number;
  /** The key, when it was generated (a key given with `--secret` is not echoed). */
  readonly generatedSecret?: string;
  readonly tokenTtlSeconds: number;
  /** user → token */
  readonly tokens: Readonly<Record<string, string>>;
  readonly room: string;
  /** Quote for URLs in shell commands: `'` for POSIX shells, `"` for Windows. */
  readonly quote?: string;
}

/** `ws://…/stage?room_id=ROOM&token=TOKEN` */
export function chatUrl(url: string, room: string, token: string): string {
  return `${url}?room_id=${encodeURIComponent(room)}&token=${encodeURIComponent(token)}`;
}

/** A `wscat` command that works when pasted: the URL is quoted (`&` and `?` are special to shells). */
export function wscatCommand(url: string, quote = "'"): string {
  return `npx wscat -c ${quote}${url}${quote}`;
}

export function formatBanner(info: BannerInfo): string {
  const quote = info.quote ?? "'";
  const users = Object.keys(info.tokens);
  const lines = [
    '',
    'cdk-websocket-chat local gateway is running',
    '',
  ];
  if (info.pageUrl) {
    lines.push(`Open ${info.pageUrl} in two browser tabs, pick a name in each, and chat.`, '');
  }
  lines.push(
    `  WebSocket URL    ${info.url}`,
    `  @connections     ${info.managementEndpoint}/@connections/{connectionId}   (POST / GET / DELETE)`,
    `  DynamoDB         ${info.dynamoEndpoint}   table ${info.tableName}, ` +
      (info.persistDir ? `persisted in ${info.persistDir}` : 'in memory'),
    `  Handlers         ${info.handlersDir}`,
    `  Limits           idle ${info.idleTimeoutSeconds} s, max ${info.maxDurationSeconds} s, ` +
      `messages ${LIMITS.maxMessageBytes / 1024} KB`,
  );
  if (info.pageUrl) {
    lines.push(`  Chat page        ${info.pageUrl}` + (info.devTokenEndpoint ? `   (dev tokens: POST ${info.pageUrl}dev-token, this machine only)` : ''));
  }
  if (info.generatedSecret) lines.push(`  HS256 key        ${info.generatedSecret}   (random; --secret <key> to choose one)`);
  lines.push('', `Dev tokens (HS256, valid ${Math.round(info.tokenTtlSeconds / 3600)} h):`);
  for (const user of users) lines.push(`  ${user.padEnd(6)} ${info.tokens[user]}`);
  lines.push('', `${info.pageUrl ? 'Or chat from a terminal, as' : 'Chat as'} ${users[0]} in room "${info.room}":`, `  ${wscatCommand(chatUrl(info.url, info.room, info.tokens[users[0]]), quote)}`);
  if (users[1]) {
    lines.push('', `In a second terminal, chat as ${users[1]}:`, `  ${wscatCommand(chatUrl(info.url, info.room, info.tokens[users[1]]), quote)}`);
  }
  lines.push(
    '',
    'Then send:',
    '  {"action":"sendMessage","message":"hello"}',
    '  {"action":"ping"}',
    '',
    'Press Ctrl+C to stop.',
    '',
  );
  return lines.join('\n');
}

/**
 * A warning when the gateway listens beyond this machine: its `@connections` API checks no signatures, so anyone
 * who can reach the port can post to, read and close connections. Undefined on loopback.
 */
export function networkExposureWarning(host: string): string | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost' || bare === '::1' || /^127\./.test(bare)) return undefined;
  return `warning: --host ${host} makes the gateway reachable from your network, including its @connections API, ` +
    'which checks no signatures (anyone who reaches the port can post to and close connections). ' +
    'Use it on a trusted network only; the default, 127.0.0.1, stays on this machine.';
}
