import type { HandlerId, TableSpec } from '../shared/spec';

/**
 * What the local gateway runs: a stage, its functions (code directory, handler, environment), its routes, the
 * authorizer and the tables. Built either from the shared spec (the library's defaults: `defaultApp`) or from a
 * synthesized cloud assembly (`--app cdk.out`: the user's own app, with its `addRoute` handlers).
 *
 * Environment values that point at the chat's own resources are not known until the gateway has started its
 * services (ports are picked at start), so they are placeholders here, resolved by the gateway.
 */

/** A value only the running gateway knows. */
export type LocalValue =
  /** The local connections table's name. */
  | 'connectionsTable'
  /** The local messages table's name. */
  | 'messagesTable'
  /** `http://host:port/{stage}`: the gateway's `@connections` API. */
  | 'managementEndpoint'
  /** ARN of the local secret holding the HS256 key. */
  | 'authSecretArn'
  /** The JWKS URL the authorizer fetches (the user's `--jwks-url`, or the gateway's own key set). */
  | 'jwksUrl'
  /** The region the gateway reports. */
  | 'region';

/** An environment value: a literal, a placeholder for a gateway value, or another local function's name. */
export type EnvValue = string | { readonly local: LocalValue } | { readonly localFunction: string };

/** One function the gateway can run (an API route's integration, the authorizer, or one invoked by name). */
export interface LocalFunctionSpec {
  /** Its local name: what the Invoke API answers to (`/2015-03-31/functions/{name}/invocations`). */
  readonly name: string;
  /** Other names it answers to (e.g. its logical ID and local ARN). */
  readonly aliases?: readonly string[];
  /** Directory of its code (a bundle, a cloud assembly asset, or a directory with inline code written out). */
  readonly codeDir: string;
  /** Lambda's `Handler`: `file.export`, e.g. `index.handler`. */
  readonly handler: string;
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly timeoutSeconds: number;
  /** Which built-in handler it is, if it is one. */
  readonly builtIn?: HandlerId;
  /**
   * Extra `node_modules` directories its modules are resolved from, after its own code directory's (an app's
   * handler that requires `@aws-sdk/*`, which Lambda's Node.js runtime provides, finds it in the app's
   * `node_modules`). @default - none (the built-in bundles carry what they need)
   */
  readonly resolvePaths?: readonly string[];
}

/** How the app authorizes `$connect`, as the gateway must emulate it (keys, dev tokens). */
export type LocalAuth =
  | {
    readonly mode: 'hs256';
    /** The secret's JSON field holding the key; undefined = the whole SecretString. */
    readonly secretField?: string;
    readonly issuer?: string;
    readonly audience: readonly string[];
    readonly userIdClaim: string;
    readonly roomsClaim?: string;
  }
  | {
    readonly mode: 'jwks';
    /** The JWKS the authorizer fetches (`--jwks-url`); undefined = the gateway serves a local key pair's. */
    readonly jwksUrl?: string;
    readonly issuer?: string;
    readonly audience: readonly string[];
    readonly algorithms: readonly string[];
    readonly userIdClaim: string;
    readonly roomsClaim?: string;
  }
  | { readonly mode: 'none' };

/** A table the gateway creates in its embedded DynamoDB. */
export interface LocalTable {
  readonly spec: TableSpec;
  /** Its local name. */
  readonly name: string;
}

export interface LocalAppSpec {
  /** Where it came from, for the banner: `library defaults` or `cdk.out (stack Foo)`. */
  readonly source: string;
  readonly stage: string;
  readonly functions: readonly LocalFunctionSpec[];
  /** Route key (`$connect`, `$disconnect`, `$default`, actions) → function name. */
  readonly routes: Readonly<Record<string, string>>;
  /** The `$connect` authorizer: its function and identity sources (all must be present, or 401). */
  readonly authorizer?: { readonly functionName: string; readonly identitySource: readonly string[] };
  readonly tables: readonly LocalTable[];
  readonly auth: LocalAuth;
  /** Largest `sendMessage` message, in bytes (for the banner and the page). */
  readonly maxMessageBytes: number;
  /** What the loader could not map (each names the variable and function), printed as warnings. */
  readonly warnings: readonly string[];
}
