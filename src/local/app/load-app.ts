import { DEFAULTS, ENV } from '../../shared/contract';
import { handlerSpec } from '../../shared/spec';
import type { EnvValue, LocalAppSpec, LocalFunctionSpec } from '../app-model';
import { appFunctions, type AppFunction } from './app-functions';
import { localAuth } from './auth';
import { assemblyDirectory } from './cloud-assembly';
import { localEnvironment } from './environment';
import { AppLoadError } from './errors';
import { environmentOf } from './find-chat';
import { LOCAL_ACCOUNT, LOCAL_PARTITION, resolveText, type ResolveScope } from './intrinsics';
import { localScope, messagesTableOf } from './local-scope';
import { appNodeModules } from './node-modules';
import { selectChat } from './select-chat';
import { chatTables } from './tables';
import { prop, type CfnResource } from './template';

/**
 * `--app cdk.out`: the user's own synthesized app as a `LocalAppSpec` — its chat's stage, routes (the built-in
 * handlers and the app's `addRoute` handlers, from the assembly's assets), authorizer and auth mode, tables and
 * limits, each function's environment mapped onto the gateway's local services.
 */

export interface LoadAppOptions {
  /** `--stack`: which stack (or `STACK/CHAT`) when the assembly has several chats. */
  readonly stack?: string;
  /** `--env KEY=VALUE`: set in every function's environment, over the template's value. */
  readonly env?: Readonly<Record<string, string>>;
  /** `--jwks-url`: the JWKS the app's `ChatAuth.jwks` authorizer fetches locally. @default - the gateway's local key pair */
  readonly jwksUrl?: string;
  /** Region of the local ARNs the functions answer to. @default 'us-east-1' */
  readonly region?: string;
}

/** The region of local ARNs by default (the gateway's default region). */
export const LOCAL_REGION = 'us-east-1';

/** The issuer (and audience) the gateway uses for an app whose issuer (or audience) has no local value. */
export const LOCAL_ISSUER = 'cdk-websocket-chat-local';

/** Lambda's default timeout, for a function that sets none. */
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;

export function loadCloudAssemblyApp(dir: string, options: LoadAppOptions = {}): LocalAppSpec {
  const region = options.region ?? LOCAL_REGION;
  const candidate = selectChat(dir, options.stack);
  const { stack, template, chat } = candidate;
  if (!chat.stage) throw new AppLoadError(`the chat ${chat.label} of stack ${stack.displayName} has no stage`);
  if (chat.authorizer && !chat.authorizer.functionId) {
    throw new AppLoadError(`the $connect authorizer ${chat.authorizer.logicalId} of ${chat.label} is not a Lambda function of stack ${stack.displayName}`);
  }
  const warnings: string[] = [];
  if (chat.otherStages.length > 0) warnings.push(`the chat's API has several stages: the gateway serves ${chat.stage.name} (not ${chat.otherStages.join(', ')})`);

  const fns = appFunctions(candidate, region);
  warnings.push(...fns.warnings);
  const messagesTableId = messagesTableOf(candidate, fns);
  const tables = chatTables(template, chat.connectionsTableId, messagesTableId);
  warnings.push(...tables.warnings);
  const { scope, sameAs } = localScope(candidate, fns, tables.names, messagesTableId, region);
  const authorizerFn = chat.authorizer?.functionId ? fns.functions.get(chat.authorizer.functionId) : undefined;
  const context: FunctionContext = {
    scope,
    sameAs,
    stageName: chat.stage.name,
    overrides: options.env ?? {},
    resolvePaths: appNodeModules(assemblyDirectory(dir)),
    region,
    warnings,
  };
  const specs = [...fns.functions.values()].map((fn) => localFunction(fn, template.Resources[fn.logicalId], fn === authorizerFn, context));

  const auth = localAuth(authorizerFn ? specs.find((s) => s.name === authorizerFn.name)!.env : undefined, authorizerFn?.label);
  if (options.jwksUrl !== undefined && auth.mode !== 'jwks') {
    throw new AppLoadError(`--jwks-url: the app's authorizer uses ${auth.mode === 'none' ? 'no tokens (ChatAuth.none())' : 'HS256 (ChatAuth.hs256)'}, not a JWKS`);
  }
  const maxMessageBytes = Number(specs.find((s) => s.builtIn === 'sendMessage')?.env[ENV.maxMessageBytes]);
  const routes: Record<string, string> = {};
  for (const route of chat.routes) if (route.functionId) routes[route.routeKey] = fns.functions.get(route.functionId)!.name;
  return {
    source: `${displayDir(dir)} (stack ${stack.displayName}${candidate.selector.endsWith(`/${chat.label}`) ? `, chat ${chat.label}` : ''})`,
    stage: chat.stage.name,
    functions: specs,
    routes,
    authorizer: authorizerFn ? { functionName: authorizerFn.name, identitySource: chat.authorizer!.identitySource } : undefined,
    tables: tables.tables,
    auth: auth.mode === 'jwks' && options.jwksUrl !== undefined ? { ...auth, jwksUrl: options.jwksUrl } : auth,
    maxMessageBytes: Number.isInteger(maxMessageBytes) && maxMessageBytes > 0 ? maxMessageBytes : DEFAULTS.maxMessageBytes,
    warnings,
  };
}

interface FunctionContext {
  readonly scope: ResolveScope;
  readonly sameAs: ReadonlyMap<string, EnvValue>;
  readonly stageName: string;
  readonly overrides: Readonly<Record<string, string>>;
  /** The app's node_modules, for the app's own functions. */
  readonly resolvePaths: readonly string[];
  readonly region: string;
  /** Collects what could not be mapped. */
  readonly warnings: string[];
}

/** One function as the gateway runs it: code, handler, environment, timeout, names. */
function localFunction(fn: AppFunction, resource: CfnResource, isAuthorizer: boolean, context: FunctionContext): LocalFunctionSpec {
  const { warnings } = context;
  const { env, unresolved } = localEnvironment(environmentOf(resource), {
    scope: context.scope,
    stageName: context.stageName,
    sameAs: context.sameAs,
    overrides: context.overrides,
    // Whatever the template says, the authorizer verifies against the gateway's key (or key set).
    fixed: isAuthorizer ? { [ENV.authSecretArn]: { local: 'authSecretArn' }, [ENV.authJwksUrl]: { local: 'jwksUrl' } } : undefined,
  });
  for (const { key, what } of unresolved) {
    if (isAuthorizer && (key === ENV.authIssuer || key === ENV.authAudience)) {
      // Dev tokens must match the authorizer's claims: a stand-in both sides share.
      env[key] = LOCAL_ISSUER;
      warnings.push(
        `${key} of the authorizer ${fn.label} is ${what}, which has no local value: the gateway uses "${LOCAL_ISSUER}" (its dev tokens carry it); ` +
          `set it with --env ${key}=VALUE to accept your identity provider's tokens`,
      );
    } else {
      warnings.push(`${key} of function ${fn.label} is ${what}: the local gateway cannot resolve it, so it is unset; set it with --env ${key}=VALUE`);
    }
  }
  const layers = prop(resource, 'Layers');
  if (Array.isArray(layers) && layers.length > 0) {
    warnings.push(`function ${fn.label} uses Lambda layers: the local gateway does not load them (what it requires from a layer must be in the app's node_modules)`);
  }

  const functionName = resolveText(prop(resource, 'FunctionName'), context.scope);
  const names = [fn.name, ...(fn.builtIn ? [fn.logicalId] : []), ...(functionName ? [functionName] : [])];
  // A built-in handler also answers to what it answers to in the defaults (its bundle and construct id).
  const builtInNames = fn.builtIn ? [handlerSpec(fn.builtIn).bundle, handlerSpec(fn.builtIn).constructId] : [];
  const localArn = (name: string) => `arn:${LOCAL_PARTITION}:lambda:${context.region}:${LOCAL_ACCOUNT}:function:${name}`;
  const aliases = [...new Set([...names, ...builtInNames, ...names.map(localArn)])].filter((n) => n !== fn.name);
  const timeout = prop(resource, 'Timeout');
  return {
    name: fn.name,
    aliases,
    codeDir: fn.code.codeDir,
    handler: fn.code.handler,
    env,
    timeoutSeconds: typeof timeout === 'number' && timeout > 0 ? timeout : LAMBDA_DEFAULT_TIMEOUT_SECONDS,
    // The built-in bundles carry what they need; the app's own code finds @aws-sdk/* in the app's node_modules.
    ...(fn.builtIn ? { builtIn: fn.builtIn } : context.resolvePaths.length > 0 ? { resolvePaths: context.resolvePaths } : {}),
  };
}

function displayDir(dir: string): string {
  return dir.replace(/(.)\/+$/, '$1');
}
