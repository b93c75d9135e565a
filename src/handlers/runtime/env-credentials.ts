import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the handler bundles (an esbuild alias). Lambda hands a
 * function its role's credentials in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`), so the default chain's SSO, STS, OIDC, INI and IMDS providers are dead weight: about 250 KB
 * of every bundle and tens of milliseconds of each cold start (BENCHMARKS.md). The local gateway sets the same
 * variables.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> => fromEnv(init);
