import { authorize, authorizerDepsFromEnv, type AuthorizerDeps, type AuthorizerEvent, type AuthorizerResult } from './lib/authorizer';

let deps: AuthorizerDeps | undefined;

/** `$connect` REQUEST authorizer (DESIGN §2). */
export const handler = async (event: AuthorizerEvent): Promise<AuthorizerResult> => authorize(event, (deps ??= authorizerDepsFromEnv()));
