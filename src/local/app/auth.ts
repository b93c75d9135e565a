import { AUTH_MODES, DEFAULTS, ENV } from '../../shared/contract';
import type { EnvValue, LocalAuth } from '../app-model';
import { AppLoadError } from './errors';

/**
 * The app's auth mode, read from its authorizer's environment (the variables `ChatAuth` sets): the gateway
 * emulates it — an HS256 key in its secrets emulator under the app's secret (as `{field: key}` when
 * `AUTH_SECRET_FIELD` is set), or a JWKS (the user's `--jwks-url`, or a local key pair) — and mints dev tokens
 * that pass it (issuer, audience, claims kept).
 */
export function localAuth(env: Readonly<Record<string, EnvValue>> | undefined, authorizerName: string | undefined): LocalAuth {
  if (env === undefined) return { mode: 'none' };
  const text = (key: string): string | undefined => {
    const value = env[key];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const list = (key: string): string[] => (text(key) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const claims = {
    issuer: text(ENV.authIssuer),
    audience: list(ENV.authAudience),
    userIdClaim: text(ENV.userIdClaim) ?? DEFAULTS.userIdClaim,
    roomsClaim: text(ENV.roomsClaim),
  };
  const mode = text(ENV.authMode);
  switch (mode) {
    case AUTH_MODES.hs256:
      return { mode: 'hs256', secretField: text(ENV.authSecretField), ...claims };
    case AUTH_MODES.jwks: {
      const algorithms = list(ENV.authAlgorithms);
      return { mode: 'jwks', algorithms: algorithms.length > 0 ? algorithms : ['RS256'], ...claims };
    }
    case AUTH_MODES.none:
      return { mode: 'none' };
    default:
      throw new AppLoadError(
        `the authorizer ${authorizerName ?? ''} sets ${ENV.authMode} to ${mode === undefined ? 'nothing' : `"${mode}"`}: expected one of ${Object.values(AUTH_MODES).join(', ')}`,
      );
  }
}
