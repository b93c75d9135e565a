import { LIMITS } from '../shared/contract';

/** The start-up text of the CLI: where to connect, ready tokens and commands to paste. */

export interface BannerInfo {
  readonly url: string;
  readonly managementEndpoint: string;
  /** `http://host:port` — Lambda's Invoke API. */
  readonly lambdaEndpoint: string;
  /** The functions the Invoke API runs, by local name. */
  readonly functionNames: readonly string[];
  /** `http://host:port/`, when the gateway serves the chat page. */
  readonly pageUrl?: string;
  /** Whether the page can get dev tokens from the gateway (`POST /dev-token`, loopback only). */
  readonly devTokenEndpoint?: boolean;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly persistDir?: string;
  /** Where the app came from (`library defaults`, `cdk.out (stack …)`). */
  readonly appSource: string;
  /** The bundles directory, for the library's defaults. */
  readonly handlersDir?: string;
  readonly idleTimeoutSeconds: number;
  readonly maxDurationSeconds: number;
  /** Execution environments: of all functions, of one function. */
  readonly maxEnvironments: number;
  readonly maxEnvironmentsPerFunction: number;
  /** The auth mode, and where the authorizer's JWKS is (jwks mode). */
  readonly authMode: 'hs256' | 'jwks' | 'none';
  readonly jwksUrl?: string;
  /** The key, when it was generated (a key given with `--secret` is not echoed). */
  readonly generatedSecret?: string;
  readonly tokenTtlSeconds: number;
  /** user → token; empty when the gateway cannot sign tokens (jwks with the user's key set). */
  readonly tokens: Readonly<Record<string, string>>;
  /** The users to print lines for (with or without tokens). */
  readonly users: readonly string[];
  readonly room: string;
  /** The gateway's port, for the `publish` example. */
  readonly port: number;
  /** Quote for URLs in shell commands: `'` for POSIX shells, `"` for Windows. */
  readonly quote?: string;
}

/** `ws://…/stage?room_id=ROOM&token=TOKEN` (no `token` when there is none). */
export function chatUrl(url: string, room: string, token: string | undefined): string {
  return `${url}?room_id=${encodeURIComponent(room)}` + (token ? `&token=${encodeURIComponent(token)}` : '');
}

/** A `wscat` command that works when pasted: the URL is quoted (`&` and `?` are special to shells). */
export function wscatCommand(url: string, quote = "'"): string {
  return `npx wscat -c ${quote}${url}${quote}`;
}

/** A one-line example of the Invoke API: the `publish` subcommand, or `curl` when the app has no publish function. */
export function invokeExample(info: Pick<BannerInfo, 'functionNames' | 'lambdaEndpoint' | 'room' | 'port' | 'quote'>): string {
  const q = info.quote ?? "'";
  // Inside "…" (Windows), a JSON string's quotes are escaped.
  const json = (value: unknown) => (q === '"' ? JSON.stringify(value).replace(/"/g, '\\"') : JSON.stringify(value));
  if (info.functionNames.includes('publish')) {
    return `npx cdk-websocket-chat-local publish --room ${info.room} --type hello --data ${q}${json({ x: 1 })}${q}` +
      (info.port === 8080 ? '' : ` --port ${info.port}`);
  }
  const name = info.functionNames[0] ?? 'NAME';
  return `curl -s -X POST ${info.lambdaEndpoint}/2015-03-31/functions/${encodeURIComponent(name)}/invocations -d ${q}${json({})}${q}`;
}

export function formatBanner(info: BannerInfo): string {
  const quote = info.quote ?? "'";
  const users = info.users;
  const token = (user: string) => info.tokens[user];
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
    `  Lambda Invoke    ${info.lambdaEndpoint}/2015-03-31/functions/{name}/invocations   (POST, this machine only)`,
    `  Functions        ${info.functionNames.join(', ')}`,
    `  DynamoDB         ${info.dynamoEndpoint}   table ${info.tableName}, ` +
      (info.persistDir ? `persisted in ${info.persistDir}` : 'in memory'),
    `  App              ${info.appSource}` + (info.handlersDir ? ` (${info.handlersDir})` : ''),
    `  Limits           idle ${info.idleTimeoutSeconds} s, max ${info.maxDurationSeconds} s, ` +
      `messages ${LIMITS.maxMessageBytes / 1024} KB, frames ${LIMITS.maxFrameBytes / 1024} KB, ` +
      `Lambda environments ${info.maxEnvironments} (${info.maxEnvironmentsPerFunction} per function)`,
  );
  if (info.pageUrl) {
    lines.push(`  Chat page        ${info.pageUrl}` + (info.devTokenEndpoint ? `   (dev tokens: POST ${info.pageUrl}dev-token, this machine only)` : ''));
  }
  if (info.generatedSecret) lines.push(`  HS256 key        ${info.generatedSecret}   (random; --secret <key> to choose one)`);
  if (info.authMode === 'jwks') lines.push(`  JWKS             ${info.jwksUrl ?? ''}`);
  const signed = users.every((user) => token(user) !== undefined);
  if (info.authMode === 'none') {
    lines.push('', 'Auth: none (demo mode): no token needed, every connection gets an anonymous user id.');
  } else if (!signed) {
    lines.push('', `Tokens: from your identity provider (the authorizer verifies them against ${info.jwksUrl}); add &token=… to the URLs below.`);
  } else {
    lines.push('', `Dev tokens (${info.authMode === 'hs256' ? 'HS256' : 'signed with the local key'}, valid ${Math.round(info.tokenTtlSeconds / 3600)} h):`);
    for (const user of users) lines.push(`  ${user.padEnd(6)} ${token(user)}`);
  }
  const authed = info.authMode !== 'none' && signed;
  const first = users[0];
  lines.push('', `${info.pageUrl ? 'Or chat from a terminal, as' : 'Chat as'} ${authed ? first : 'a user'} in room "${info.room}":`,
    `  ${wscatCommand(chatUrl(info.url, info.room, authed ? token(first) : undefined), quote)}`);
  if (users[1]) {
    lines.push('', `In a second terminal, chat as ${authed ? users[1] : 'another user'}:`,
      `  ${wscatCommand(chatUrl(info.url, info.room, authed ? token(users[1]) : undefined), quote)}`);
  }
  lines.push(
    '',
    'Then send (one frame per line):',
    '  {"action":"sendMessage","message":"hello"}',
    '  {"action":"join","room_id":"kitchen"}           then {"action":"sendMessage","room_id":"kitchen","message":"hi"}',
    '  {"action":"history","room_id":"lobby","after_seq":0}',
    '  {"action":"presence","room_id":"lobby"}',
    '  {"action":"leave","room_id":"kitchen"}',
    '  {"action":"ping"}',
    '',
    'Push an event from a backend (Lambda Invoke API):',
    `  ${invokeExample({ ...info, quote })}`,
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
    'Its internal services (DynamoDB, secrets, JWKS) stay on loopback, and its Lambda Invoke API answers this machine only. ' +
    'Use it on a trusted network only; the default, 127.0.0.1, stays on this machine.';
}
