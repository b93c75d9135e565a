import { chatStack } from './chat-app';
import { removeSynthesizedApps, synth } from './synth';
import { loadCloudAssemblyApp } from '../../../src/local/app/load-app';
import type { EnvValue, LocalAppSpec } from '../../../src/local/app-model';
import { defaultApp } from '../../../src/local/default-app';
import { ENV } from '../../../src/shared/contract';
import { activeHandlers, activeTables, handlerSpec, identitySources, routeTable } from '../../../src/shared/spec';

/**
 * One spec, two consumers: a synthesized `WebSocketChat` (default props, and history off), read back by the `--app`
 * loader, held against what the gateway runs without `--app` (`defaultApp`, built from the shared spec) — routes,
 * handlers, tables (keys and indexes), every handler's environment (names and default values), the identity source
 * and limits — so the construct and the gateway cannot drift apart.
 */

afterAll(removeSynthesizedApps);

/** Set by CDK on every Node.js function; not the handlers' concern. */
const CDK_ENV = ['AWS_NODEJS_CONNECTION_REUSE_ENABLED'];

function envOf(app: LocalAppSpec, name: string): Record<string, EnvValue> {
  const fn = app.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`no function ${name}`);
  return Object.fromEntries(Object.entries(fn.env).filter(([key]) => !CDK_ENV.includes(key)));
}

describe.each([
  ['default props', true],
  ['history: false', false],
])('%s', (_name, history) => {
  const { outdir } = synth((app) => chatStack(app, 'Spec', history ? {} : { history: false }));
  const app = loadCloudAssemblyApp(outdir);
  const defaults = defaultApp({ history });

  test('routes: the same route table as the defaults (the spec\'s), each to the same built-in handler', () => {
    expect(app.routes).toEqual(defaults.routes);
    const bundles = Object.fromEntries(Object.entries(app.routes).map(([key, name]) => {
      const builtIn = app.functions.find((f) => f.name === name)?.builtIn;
      return [key, builtIn && handlerSpec(builtIn).bundle];
    }));
    expect(bundles).toEqual(routeTable(history));
  });

  test('handlers: the same functions as the defaults (the spec\'s active handlers), no more', () => {
    const builtIns = (a: LocalAppSpec) => a.functions.map((f) => [f.name, f.builtIn]).sort();
    expect(builtIns(app)).toEqual(builtIns(defaults));
    expect(app.functions.map((f) => f.builtIn).sort()).toEqual(activeHandlers(history).map((h) => h.id).sort());
  });

  test('tables: the spec\'s, with the same keys and indexes (the loader reports any difference)', () => {
    expect(app.tables.map((t) => t.spec)).toEqual(defaults.tables.map((t) => t.spec));
    expect(app.tables.map((t) => t.spec)).toEqual(activeTables(history));
    expect(app.warnings).toEqual([]);
  });

  test('environments: every handler gets the same variables with the same default values as in the defaults', () => {
    for (const fn of defaults.functions) {
      expect({ handler: fn.name, env: envOf(app, fn.name) }).toEqual({ handler: fn.name, env: envOf(defaults, fn.name) });
    }
  });

  test('environment names: nothing the spec does not list (a ChatAuth sets those of its mode only)', () => {
    for (const fn of app.functions) {
      const spec = handlerSpec(fn.builtIn!);
      const names = Object.keys(envOf(app, fn.name));
      expect({ handler: spec.id, extra: names.filter((n) => !spec.env.includes(n)) }).toEqual({ handler: spec.id, extra: [] });
      if (spec.id === 'authorizer') expect(names).toContain(ENV.authMode);
    }
  });

  test('identity source, auth, stage and limits: as the defaults', () => {
    expect(app.authorizer).toEqual(defaults.authorizer);
    expect(app.authorizer?.identitySource).toEqual(identitySources(app.auth.mode));
    expect(app.auth).toEqual(defaults.auth);
    expect(app.stage).toBe(defaults.stage);
    expect(app.maxMessageBytes).toBe(defaults.maxMessageBytes);
  });

  test('timeouts: as the defaults (the spec\'s size classes)', () => {
    for (const fn of defaults.functions) {
      expect([fn.name, app.functions.find((f) => f.name === fn.name)?.timeoutSeconds]).toEqual([fn.name, fn.timeoutSeconds]);
    }
  });

  test('names: what a built-in answers to in the defaults, it answers to in the app', () => {
    for (const fn of defaults.functions) {
      const loaded = app.functions.find((f) => f.name === fn.name)!;
      expect(loaded.aliases).toEqual(expect.arrayContaining([...(fn.aliases ?? [])]));
    }
  });
});
