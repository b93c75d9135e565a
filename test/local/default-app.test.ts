import * as path from 'node:path';
import { defaultApp, DEFAULT_TABLE_NAMES } from '../../src/local/default-app';
import { ACTIONS, AUTH_MODES, DEFAULTS, ENV } from '../../src/shared/contract';
import { activeHandlers, activeTables, HANDLERS, identitySources, routeTable, TIMEOUT_SECONDS, TOKEN_IDENTITY_SOURCE } from '../../src/shared/spec';

/** The library's defaults as the gateway runs them: everything read from the shared spec, nothing copied. */

const DIR = '/bundles';

test('one function per active handler: its bundle, index.handler, the timeout of its size class', () => {
  const app = defaultApp({ handlersDir: DIR });
  expect(app.source).toBe('library defaults');
  expect(app.stage).toBe(DEFAULTS.stageName);
  expect(app.functions.map((fn) => fn.name)).toEqual(activeHandlers(true).map((h) => h.id));
  for (const h of activeHandlers(true)) {
    const fn = app.functions.find((f) => f.builtIn === h.id)!;
    expect(fn).toMatchObject({ codeDir: path.join(DIR, `${h.bundle}.lambda`), handler: 'index.handler', timeoutSeconds: TIMEOUT_SECONDS[h.size] });
    // Reachable by the bundle name and the construct id too.
    for (const alias of [h.bundle, h.constructId]) if (alias !== h.id) expect(fn.aliases).toContain(alias);
  }
  expect(app.functions.find((fn) => fn.name === 'publish')?.builtIn).toBe('publish');
});

test('every variable of every handler\'s spec env list is mapped (a new one in the spec shows as a warning)', () => {
  for (const auth of [undefined, { mode: 'jwks' as const, audience: ['a'], algorithms: ['ES256'], userIdClaim: 'uid', roomsClaim: 'rooms' }]) {
    const app = defaultApp({ handlersDir: DIR, auth });
    expect(app.warnings).toEqual([]);
    for (const h of activeHandlers(true)) {
      const env = app.functions.find((f) => f.builtIn === h.id)!.env;
      // No variable outside the handler's own list.
      for (const name of Object.keys(env)) expect(h.env).toContain(name);
    }
  }
});

test('values: contract defaults, placeholders for what the running gateway knows, other functions by local name', () => {
  const app = defaultApp({ handlersDir: DIR });
  const env = (id: string) => app.functions.find((f) => f.name === id)!.env;
  expect(env('sendMessage')).toMatchObject({
    [ENV.connectionsTable]: { local: 'connectionsTable' },
    [ENV.messagesTable]: { local: 'messagesTable' },
    [ENV.managementEndpoint]: { local: 'managementEndpoint' },
    [ENV.fanoutWorkerFunction]: { localFunction: 'fanoutWorker' },
    [ENV.maxMessageBytes]: String(DEFAULTS.maxMessageBytes),
    [ENV.fanoutConcurrency]: String(DEFAULTS.fanoutConcurrency),
    [ENV.historyRetentionSeconds]: String(DEFAULTS.historyRetentionSeconds),
  });
  expect(env('default')[ENV.validActions]).toBe(Object.values(ACTIONS).join(','));
  expect(env('authorizer')).toEqual({
    [ENV.authMode]: AUTH_MODES.hs256,
    [ENV.authSecretArn]: { local: 'authSecretArn' },
    [ENV.userIdClaim]: 'sub',
    [ENV.clockToleranceSeconds]: String(DEFAULTS.clockToleranceSeconds),
  });
});

test('routes, tables and the authorizer\'s identity sources come from the spec', () => {
  const app = defaultApp({ handlersDir: DIR });
  const byBundle = new Map(HANDLERS.map((h) => [h.bundle, h.id]));
  expect(app.routes).toEqual(Object.fromEntries(Object.entries(routeTable(true)).map(([key, bundle]) => [key, byBundle.get(bundle)])));
  expect(app.tables).toEqual(activeTables(true).map((spec) => ({ spec, name: DEFAULT_TABLE_NAMES[spec.id] })));
  expect(app.authorizer).toEqual({ functionName: 'authorizer', identitySource: [TOKEN_IDENTITY_SOURCE] });
});

test('history off: no messages table, no history route or function, and nobody is told of a messages table', () => {
  const app = defaultApp({ handlersDir: DIR, history: false });
  expect(app.tables.map((t) => t.spec.id)).toEqual(['connections']);
  expect(app.routes).not.toHaveProperty('history');
  expect(app.functions.map((fn) => fn.name)).not.toContain('history');
  for (const fn of app.functions) expect(fn.env).not.toHaveProperty(ENV.messagesTable);
  expect(app.functions.find((fn) => fn.name === 'default')!.env[ENV.validActions]).not.toContain('history');
});

test('auth modes: jwks reads the gateway\'s JWKS URL and the algorithms; none has no identity source', () => {
  const jwks = defaultApp({
    handlersDir: DIR,
    auth: { mode: 'jwks', issuer: 'https://issuer/', audience: ['a', 'b'], algorithms: ['ES256', 'RS256'], userIdClaim: 'uid', roomsClaim: 'rooms' },
  });
  expect(jwks.functions.find((fn) => fn.name === 'authorizer')!.env).toMatchObject({
    [ENV.authMode]: 'jwks',
    [ENV.authJwksUrl]: { local: 'jwksUrl' },
    [ENV.authAlgorithms]: 'ES256,RS256',
    [ENV.authIssuer]: 'https://issuer/',
    [ENV.authAudience]: 'a,b',
    [ENV.userIdClaim]: 'uid',
    [ENV.roomsClaim]: 'rooms',
  });
  const none = defaultApp({ handlersDir: DIR, auth: { mode: 'none' } });
  expect(none.authorizer?.identitySource).toEqual(identitySources('none'));
  expect(none.authorizer?.identitySource).toEqual([]);
  const secretField = defaultApp({ handlersDir: DIR, auth: { mode: 'hs256', secretField: 'key', audience: [], userIdClaim: 'sub' } });
  expect(secretField.functions.find((fn) => fn.name === 'authorizer')!.env[ENV.authSecretField]).toBe('key');
});
