import { authorize, authorizerDepsFromEnv, type AuthorizerDeps, type AuthorizerEvent, type AuthorizerResult } from './lib/authorizer';

let deps: AuthorizerDeps | undefined;

/** `$connect` REQUEST authorizer (see ./lib/authorizer.ts and the README's "Wire protocol"). */
export const handler = async (event: AuthorizerEvent): Promise<AuthorizerResult> => authorize(event, (deps ??= authorizerDepsFromEnv()));
