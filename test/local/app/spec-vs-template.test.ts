import { chatStack } from './chat-app';
import { removeSynthesizedApps, synth } from './synth';
import { loadCloudAssemblyApp } from '../../../src/local/app/load-app';
import { ENV } from '../../../src/shared/contract';
import { activeHandlers, activeTables, handlerSpec, HANDLERS, identitySources, routeTable } from '../../../src/shared/spec';

/**
 * One spec, two consumers: a synthesized `WebSocketChat` (default props, and history off), read back by the `--app`
 * loader, held against the shared spec the gateway runs by default — routes, tables (keys and indexes), the
 * environment variable names of every handler, the identity source — so neither can drift from the other.
 */

afterAll(removeSynthesizedApps);

/** Set by CDK on every Node.js function; not the handlers' concern. */
const CDK_ENV = ['AWS_NODEJS_CONNECTION_REUSE_ENABLED'];

describe.each([
  ['default props', true],
  ['history: false', false],
])('%s', (_name, history) => {
  const { outdir } = synth((app) => chatStack(app, 'Spec', history ? {} : { history: false }));
  const app = loadCloudAssemblyApp(outdir);

  test('routes: the spec\'s route table, each to its built-in handler', () => {
    const routed = Object.fromEntries(Object.entries(app.routes).map(([key, name]) => {
      const builtIn = app.functions.find((f) => f.name === name)?.builtIn;
      return [key, builtIn && handlerSpec(builtIn).bundle];
    }));
    expect(routed).toEqual(routeTable(history));
  });

  test('handlers: the spec\'s active handlers, no more', () => {
    expect(app.functions.map((f) => f.builtIn).sort()).toEqual(activeHandlers(history).map((h) => h.id).sort());
  });

  test('tables: the spec\'s, with the same keys and indexes (the loader reports any difference)', () => {
    expect(app.tables.map((t) => t.spec)).toEqual(activeTables(history));
    expect(app.warnings).toEqual([]);
  });

  test('environment variable names: each handler gets exactly what the spec says it reads', () => {
    for (const fn of app.functions) {
      const spec = handlerSpec(fn.builtIn!);
      const names = Object.keys(fn.env).filter((n) => !CDK_ENV.includes(n)).sort();
      if (spec.id === 'authorizer') {
        // A ChatAuth sets the variables of its mode only.
        expect(names.filter((n) => !spec.env.includes(n))).toEqual([]);
        expect(names).toContain(ENV.authMode);
      } else {
        const expected = spec.env.filter((n) => history || n !== ENV.messagesTable);
        expect({ handler: spec.id, env: names }).toEqual({ handler: spec.id, env: [...expected].sort() });
      }
    }
  });

  test('identity source: the spec\'s for the auth mode', () => {
    expect(app.authorizer).toEqual({ functionName: 'authorizer', identitySource: identitySources(app.auth.mode) });
  });

  test('every handler of the spec that exists with this setting is found by the loader', () => {
    const found = new Set(app.functions.map((f) => f.builtIn));
    expect(HANDLERS.filter((h) => !found.has(h.id)).map((h) => h.id)).toEqual(history ? [] : ['history']);
  });
});
