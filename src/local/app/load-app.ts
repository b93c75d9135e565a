import { ENV, DEFAULTS } from '../../shared/contract';
import { handlerSpec, HANDLERS, type HandlerId, type HandlerSpec } from '../../shared/spec';
import type { EnvValue, LocalAppSpec, LocalFunctionSpec } from '../app-model';
import { localFunctionName } from '../default-app';
import { localAuth } from './auth';
import { assemblyDirectory, readAssets } from './cloud-assembly';
import { localEnvironment } from './environment';
import { AppLoadError } from './errors';
import { environmentOf } from './find-chat';
import { functionCode, type FunctionCode } from './function-code';
import { LOCAL_ACCOUNT, LOCAL_PARTITION, resolveText, type Piece, type ResolveScope } from './intrinsics';
import { appNodeModules } from './node-modules';
import { selectChat, type ChatCandidate } from './select-chat';
import { chatTables } from './tables';
import { getAttOf, isObject, prop, refOf, resourcesOfType, TYPES, type CfnTemplate } from './template';

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

/** The issuer (and audience) the gateway uses for a JWKS app whose issuer has no local value. */
export const LOCAL_ISSUER = 'cdk-websocket-chat-local';

interface AppFunction {
  readonly logicalId: string;
  readonly name: string;
  /** How messages name it: `Query (Query435140A1)`. */
  readonly label: string;
  readonly builtIn?: HandlerId;
  readonly code: FunctionCode;
}

export function loadCloudAssemblyApp(dir: string, options: LoadAppOptions = {}): LocalAppSpec {
  const region = options.region ?? LOCAL_REGION;
  const overrides = options.env ?? {};
  const candidate = selectChat(dir, options.stack);
  const { stack, template, chat } = candidate;
  const assets = readAssets(stack);
  const warnings: string[] = [];
  if (!chat.stage) throw new AppLoadError(`the chat ${chat.label} of stack ${stack.displayName} has no stage`);
  const stageName = chat.stage.name;
  if (chat.otherStages.length > 0) warnings.push(`the chat's API has several stages: the gateway serves ${stageName} (not ${chat.otherStages.join(', ')})`);
  if (chat.authorizer && !chat.authorizer.functionId) {
    throw new AppLoadError(`the $connect authorizer ${chat.authorizer.logicalId} of ${chat.label} is not a Lambda function of stack ${stack.displayName}`);
  }

  // Which functions the gateway runs: the routes, the authorizer and the chat's other built-in handlers first
  // (one that cannot run is an error), then the functions their environments name (one that cannot run is a warning).
  const label = (logicalId: string) => labelOf(candidate, logicalId);
  const builtIns = builtInHandlers(candidate);
  const required = new Set<string>();
  for (const route of chat.routes) {
    if (route.functionId) required.add(route.functionId);
    else warnings.push(`route ${route.routeKey}: ${route.problem ?? 'no Lambda function'}; the local gateway does not serve it`);
  }
  if (chat.authorizer?.functionId) required.add(chat.authorizer.functionId);
  for (const logicalId of builtIns.keys()) required.add(logicalId);

  const scopeBase = { template, stackName: stack.stackName, region };
  const codeScope: ResolveScope = { ...scopeBase, resource: () => undefined };
  const codeOf = (logicalId: string) => functionCode(label(logicalId), template.Resources[logicalId], assets, stack.assemblyDir, codeScope);
  const functions = new Map<string, AppFunction>();
  const notRunnable = new Map<string, string>();
  const add = (logicalId: string, code: FunctionCode) => {
    const builtIn = builtIns.get(logicalId);
    functions.set(logicalId, { logicalId, name: builtIn ? localFunctionName(builtIn) : logicalId, label: label(logicalId), builtIn, code });
  };
  for (const logicalId of required) add(logicalId, codeOf(logicalId));
  const queue = [...required];
  while (queue.length > 0) {
    const logicalId = queue.shift()!;
    for (const referenced of functionsReferenced(template, environmentOf(template.Resources[logicalId]))) {
      if (functions.has(referenced) || notRunnable.has(referenced)) continue;
      try {
        add(referenced, codeOf(referenced));
        queue.push(referenced);
      } catch (err) {
        if (!(err instanceof AppLoadError)) throw err;
        notRunnable.set(referenced, err.message);
      }
    }
  }

  // What the chat's own resources are locally.
  const byBuiltIn = new Map([...functions.values()].filter((f) => f.builtIn).map((f) => [f.builtIn!, f]));
  const authorizerFn = chat.authorizer?.functionId ? functions.get(chat.authorizer.functionId) : undefined;
  const authorizerEnv = environmentOf(authorizerFn ? template.Resources[authorizerFn.logicalId] : undefined);
  const messagesTableId = [...byBuiltIn.values()]
    .map((f) => refOf(environmentOf(template.Resources[f.logicalId])[ENV.messagesTable]))
    .find((id) => id !== undefined && template.Resources[id]?.Type === TYPES.table);
  const tables = chatTables(template, chat.connectionsTableId, messagesTableId);
  warnings.push(...tables.warnings);
  const secretId = refOf(authorizerEnv[ENV.authSecretArn]);
  const localArn = (name: string) => `arn:${LOCAL_PARTITION}:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;

  const scope: ResolveScope = {
    ...scopeBase,
    resource(logicalId, attribute) {
      const fn = functions.get(logicalId);
      if (fn && (attribute === undefined || attribute === 'Arn')) {
        return { kind: 'local', value: { localFunction: fn.name }, text: attribute === 'Arn' ? localArn(fn.name) : fn.name };
      }
      if (notRunnable.has(logicalId)) return { kind: 'unresolved', what: `a reference to function ${label(logicalId)}, which the local gateway cannot run (${notRunnable.get(logicalId)})` };
      if (attribute !== undefined) return undefined;
      if (logicalId === chat.connectionsTableId) return { kind: 'local', value: { local: 'connectionsTable' }, text: tables.names.get(logicalId) };
      if (logicalId === messagesTableId) return { kind: 'local', value: { local: 'messagesTable' }, text: tables.names.get(logicalId) };
      if (logicalId === secretId) return { kind: 'local', value: { local: 'authSecretArn' } };
      if (logicalId === chat.apiId) return { kind: 'api' };
      if (logicalId === chat.stage?.logicalId) return { kind: 'text', text: stageName };
      return undefined satisfies Piece | undefined;
    },
  };
  const sameAs = new Map<string, EnvValue>();
  if (authorizerEnv[ENV.authSecretArn] !== undefined) sameAs.set(JSON.stringify(authorizerEnv[ENV.authSecretArn]), { local: 'authSecretArn' });
  if (authorizerEnv[ENV.authJwksUrl] !== undefined) sameAs.set(JSON.stringify(authorizerEnv[ENV.authJwksUrl]), { local: 'jwksUrl' });

  // Each function's environment.
  const specs: LocalFunctionSpec[] = [];
  const resolvePaths = appNodeModules(assemblyDirectory(dir));
  let authEnv: Record<string, EnvValue> | undefined;
  for (const fn of functions.values()) {
    const resource = template.Resources[fn.logicalId];
    const isAuthorizer = fn === authorizerFn;
    const { env, unresolved } = localEnvironment(environmentOf(resource), {
      scope,
      stageName,
      sameAs,
      overrides,
      fixed: isAuthorizer ? { [ENV.authSecretArn]: { local: 'authSecretArn' }, [ENV.authJwksUrl]: { local: 'jwksUrl' } } : undefined,
    });
    for (const { key, what } of unresolved) {
      if (isAuthorizer && (key === ENV.authIssuer || key === ENV.authAudience)) {
        // Dev tokens must match the authorizer's claims: a stand-in both sides share.
        env[key] = LOCAL_ISSUER;
        warnings.push(`${key} of the authorizer ${fn.label} is ${what}, which has no local value: the gateway uses "${LOCAL_ISSUER}" (its dev tokens carry it); set it with --env ${key}=VALUE to accept your identity provider's tokens`);
      } else {
        warnings.push(`${key} of function ${fn.label} is ${what}: the local gateway cannot resolve it, so it is unset; set it with --env ${key}=VALUE`);
      }
    }
    if (isAuthorizer) authEnv = env;
    const functionName = resolveText(prop(resource, 'FunctionName'), scope);
    const names = [fn.name, ...(fn.builtIn ? [fn.logicalId] : []), ...(functionName ? [functionName] : [])];
    // A built-in handler also answers to what it answers to in the defaults (its bundle and construct id, e.g. `publish`).
    const builtInNames = fn.builtIn ? [handlerSpec(fn.builtIn).bundle, handlerSpec(fn.builtIn).constructId] : [];
    const aliases = [...new Set([...names, ...builtInNames, ...names.map(localArn)])].filter((n) => n !== fn.name);
    const layers = prop(resource, 'Layers');
    if (Array.isArray(layers) && layers.length > 0) {
      warnings.push(`function ${fn.label} uses Lambda layers: the local gateway does not load them (what it requires from a layer must be in the app's node_modules)`);
    }
    const timeout = prop(resource, 'Timeout');
    specs.push({
      name: fn.name,
      aliases,
      codeDir: fn.code.codeDir,
      handler: fn.code.handler,
      env,
      timeoutSeconds: typeof timeout === 'number' && timeout > 0 ? timeout : LAMBDA_DEFAULT_TIMEOUT_SECONDS,
      ...(fn.builtIn ? { builtIn: fn.builtIn } : resolvePaths.length > 0 ? { resolvePaths } : {}),
    });
  }

  const auth = localAuth(authEnv, authorizerFn?.label);
  if (options.jwksUrl !== undefined && auth.mode !== 'jwks') {
    throw new AppLoadError(`--jwks-url: the app's authorizer uses ${auth.mode === 'none' ? 'no tokens (ChatAuth.none())' : 'HS256 (ChatAuth.hs256)'}, not a JWKS`);
  }
  const sendMessage = byBuiltIn.get('sendMessage');
  const maxMessageBytes = Number(sendMessage ? specs.find((s) => s.name === sendMessage.name)?.env[ENV.maxMessageBytes] : undefined);

  const routes: Record<string, string> = {};
  for (const route of chat.routes) if (route.functionId) routes[route.routeKey] = functions.get(route.functionId)!.name;
  return {
    source: `${displayDir(dir)} (stack ${stack.displayName}${candidate.selector.endsWith(`/${chat.label}`) ? `, chat ${chat.label}` : ''})`,
    stage: stageName,
    functions: specs,
    routes,
    authorizer: authorizerFn ? { functionName: authorizerFn.name, identitySource: chat.authorizer!.identitySource } : undefined,
    tables: tables.tables,
    auth: auth.mode === 'jwks' && options.jwksUrl !== undefined ? { ...auth, jwksUrl: options.jwksUrl } : auth,
    maxMessageBytes: Number.isInteger(maxMessageBytes) && maxMessageBytes > 0 ? maxMessageBytes : DEFAULTS.maxMessageBytes,
    warnings,
  };
}

/** Lambda's default timeout, for a function that sets none. */
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;

/**
 * The chat's built-in handlers (logical ID → handler id): a route's function by its route key; the authorizer;
 * the handlers with no route (publish, the fan-out worker) by their construct path under the chat
 * (`Chat/Publish/Resource`) or, without construct metadata, their description — among the functions that use the
 * chat's connections table.
 */
function builtInHandlers({ template, paths, chat }: ChatCandidate): Map<string, HandlerId> {
  const builtIns = new Map<string, HandlerId>();
  for (const route of chat.routes) {
    const spec = HANDLERS.find((h) => h.routeKey === route.routeKey);
    if (spec && route.functionId) builtIns.set(route.functionId, spec.id);
  }
  if (chat.authorizer?.functionId) builtIns.set(chat.authorizer.functionId, 'authorizer');
  const usesTable = resourcesOfType(template, TYPES.function)
    .filter(([, fn]) => refOf(environmentOf(fn)[ENV.connectionsTable]) === chat.connectionsTableId)
    .map(([logicalId]) => logicalId)
    .filter((logicalId) => !builtIns.has(logicalId));
  const unrouted = HANDLERS.filter((h: HandlerSpec) => h.routeKey === undefined && h.id !== 'authorizer');
  for (const spec of unrouted) {
    const byPath = chat.constructPath ? usesTable.find((id) => paths.get(id) === `${chat.constructPath}/${spec.constructId}/Resource`) : undefined;
    const found = byPath ?? usesTable.find((id) => prop(template.Resources[id], 'Description') === spec.description);
    if (found) builtIns.set(found, spec.id);
  }
  return builtIns;
}

/** Lambda functions of the template that an environment refers to (`Ref` or `Fn::GetAtt … Arn`). */
function functionsReferenced(template: CfnTemplate, value: unknown, found: string[] = []): string[] {
  const ref = refOf(value) ?? getAttOf(value)?.[0];
  if (ref !== undefined && template.Resources[ref]?.Type === TYPES.function) {
    if (!found.includes(ref)) found.push(ref);
  } else if (typeof value === 'string') {
    for (const match of value.matchAll(/\$\{([^}.!]+)(?:\.Arn)?\}/g)) {
      if (template.Resources[match[1]]?.Type === TYPES.function && !found.includes(match[1])) found.push(match[1]);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) functionsReferenced(template, item, found);
  } else if (isObject(value)) {
    for (const item of Object.values(value)) functionsReferenced(template, item, found);
  }
  return found;
}

/** `Query (Query435140A1)`: the construct path (without `/Resource`) and the logical ID. */
function labelOf({ paths }: ChatCandidate, logicalId: string): string {
  const constructPath = paths.get(logicalId)?.replace(/\/Resource$/, '');
  return constructPath ? `${constructPath} (${logicalId})` : logicalId;
}

function displayDir(dir: string): string {
  return dir.replace(/(.)\/+$/, '$1');
}
