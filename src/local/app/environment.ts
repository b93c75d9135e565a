import type { EnvValue } from '../app-model';
import { resolveValue, type ResolveScope } from './intrinsics';

/**
 * A function's environment as the gateway sets it: literals as they are; values that point at the chat's own
 * resources as placeholders the gateway fills in at start (tables, management endpoint, auth secret, JWKS URL,
 * region, other local functions); `--env KEY=VALUE` over everything. What has no local equivalent (another
 * stack's export, a resource the gateway does not emulate) is left unset and reported.
 */

export interface LocalEnvironment {
  readonly env: Record<string, EnvValue>;
  /** Variables left unset: their name and what the template gives them. */
  readonly unresolved: ReadonlyArray<{ readonly key: string; readonly what: string }>;
}

export interface EnvironmentOptions {
  readonly scope: ResolveScope;
  /** The stage: recognizes the management endpoint. */
  readonly stageName?: string;
  /**
   * Template values (their JSON) that stand for a gateway value wherever they appear, e.g. the authorizer's
   * `AUTH_SECRET_ARN` (a `Ref`, or the literal ARN of an imported secret) → `authSecretArn`.
   */
  readonly sameAs: ReadonlyMap<string, EnvValue>;
  /** Variables fixed by the caller for this function (e.g. the authorizer's auth settings). */
  readonly fixed?: Readonly<Record<string, EnvValue>>;
  /** `--env KEY=VALUE`: set in every function, over the template. */
  readonly overrides: Readonly<Record<string, string>>;
}

export function localEnvironment(variables: Readonly<Record<string, unknown>>, options: EnvironmentOptions): LocalEnvironment {
  const env: Record<string, EnvValue> = {};
  const unresolved: Array<{ key: string; what: string }> = [];
  for (const [key, raw] of Object.entries(variables)) {
    if (key in options.overrides) continue;
    const fixed = options.fixed?.[key];
    if (fixed !== undefined) {
      env[key] = fixed;
      continue;
    }
    const same = options.sameAs.get(JSON.stringify(raw));
    if (same !== undefined) {
      env[key] = same;
      continue;
    }
    const resolved = resolveValue(raw, options.scope, options.stageName);
    if ('value' in resolved) env[key] = resolved.value;
    else if ('unresolved' in resolved) unresolved.push({ key, what: resolved.unresolved });
  }
  for (const [key, value] of Object.entries(options.overrides)) env[key] = value;
  return { env, unresolved };
}
