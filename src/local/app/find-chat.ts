import { getAttOf, isObject, prop, refOf, resourcesOfType, TYPES, type CfnTemplate } from './template';
import { ENV } from '../../shared/contract';

/**
 * Finds the `WebSocketChat`s of a template. A chat is recognized by what its handlers read, not by names: an
 * `AWS::ApiGatewayV2::Api` with `ProtocolType: WEBSOCKET` whose `$connect` route integrates a Lambda function
 * whose environment sets `CONNECTIONS_TABLE` (the contract's variable) to a DynamoDB table of the stack. Other
 * WebSocket APIs of the stack are not chats and are left alone.
 */

/** A route of the chat's API and the function behind it. */
export interface ChatRoute {
  readonly routeKey: string;
  /** Logical ID of the Lambda function it integrates; undefined when it is not a Lambda of this stack. */
  readonly functionId?: string;
  /** Why it cannot run locally (when `functionId` is undefined). */
  readonly problem?: string;
}

export interface ChatInTemplate {
  /** Logical ID of the `AWS::ApiGatewayV2::Api`. */
  readonly apiId: string;
  /** The chat's construct path in its stack (e.g. `Chat`), or the API's logical ID without construct metadata. */
  readonly label: string;
  /** The chat's construct path, when the assembly records construct paths. */
  readonly constructPath?: string;
  readonly stage?: { readonly logicalId: string; readonly name: string };
  /** Other stages of the API (the gateway serves one). */
  readonly otherStages: readonly string[];
  readonly routes: readonly ChatRoute[];
  readonly authorizer?: {
    readonly logicalId: string;
    readonly functionId?: string;
    readonly identitySource: readonly string[];
  };
  /** Logical ID of the connections table. */
  readonly connectionsTableId: string;
}

/** Every chat of the template. `paths`: logical ID → construct path. */
export function findChats(template: CfnTemplate, paths: ReadonlyMap<string, string>): ChatInTemplate[] {
  const chats: ChatInTemplate[] = [];
  for (const [apiId, api] of resourcesOfType(template, TYPES.api)) {
    if (prop(api, 'ProtocolType') !== 'WEBSOCKET') continue;
    const routes = routesOf(template, apiId);
    const connect = routes.find((r) => r.route.routeKey === '$connect');
    const connectFunction = connect?.route.functionId ? template.Resources[connect.route.functionId] : undefined;
    const tableId = refOf(environmentOf(connectFunction)[ENV.connectionsTable]);
    if (!connect || tableId === undefined || template.Resources[tableId]?.Type !== TYPES.table) continue;

    const apiPath = paths.get(apiId);
    const constructPath = apiPath?.replace(/\/Api\/Resource$/, '').replace(/\/Resource$/, '');
    const stages = resourcesOfType(template, TYPES.stage)
      .filter(([, stage]) => refOf(prop(stage, 'ApiId')) === apiId && typeof prop(stage, 'StageName') === 'string')
      .map(([logicalId, stage]) => ({ logicalId, name: prop(stage, 'StageName') as string }));
    chats.push({
      apiId,
      label: constructPath ?? apiId,
      constructPath,
      stage: stages[0],
      otherStages: stages.slice(1).map((s) => s.name),
      routes: routes.map((r) => r.route),
      authorizer: authorizerOf(template, connect.authorizerId),
      connectionsTableId: tableId,
    });
  }
  return chats;
}

/** The `Environment.Variables` of a function (empty when it has none). */
export function environmentOf(fn: { readonly Properties?: Record<string, unknown> } | undefined): Record<string, unknown> {
  const environment = fn?.Properties?.Environment;
  return isObject(environment) && isObject(environment.Variables) ? environment.Variables : {};
}

/**
 * The Lambda function (logical ID) an expression points at: `Fn::GetAtt [Fn, Arn]` or `Ref Fn` anywhere inside it
 * (an integration URI is a `Fn::Join` or `Fn::Sub` around the function's ARN), through an alias or version.
 */
export function functionIn(template: CfnTemplate, value: unknown, depth = 0): string | undefined {
  if (depth > 20) return undefined;
  const target = (logicalId: string): string | undefined => {
    const resource = template.Resources[logicalId];
    if (resource?.Type === TYPES.function) return logicalId;
    if (resource?.Type === TYPES.alias || resource?.Type === TYPES.version) return functionIn(template, prop(resource, 'FunctionName'), depth + 1);
    return undefined;
  };
  const ref = refOf(value);
  if (ref !== undefined) return target(ref);
  const getAtt = getAttOf(value);
  if (getAtt) return target(getAtt[0]);
  if (typeof value === 'string') {
    for (const match of value.matchAll(/\$\{([^}.!]+)(?:\.[^}]*)?\}/g)) {
      const found = target(match[1]);
      if (found) return found;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = functionIn(template, item, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (isObject(value)) {
    // Fn::Sub with variables: the template string and the variables' values.
    for (const item of Object.values(value)) {
      const found = functionIn(template, item, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function routesOf(template: CfnTemplate, apiId: string): Array<{ route: ChatRoute; authorizerId?: string }> {
  return resourcesOfType(template, TYPES.route)
    .filter(([, route]) => refOf(prop(route, 'ApiId')) === apiId && typeof prop(route, 'RouteKey') === 'string')
    .map(([, route]) => {
      const routeKey = prop(route, 'RouteKey') as string;
      const authorizerId = prop(route, 'AuthorizationType') === 'CUSTOM' ? refOf(prop(route, 'AuthorizerId')) : undefined;
      const integrationId = integrationIdOf(prop(route, 'Target'));
      const integration = integrationId ? template.Resources[integrationId] : undefined;
      if (!integration || integration.Type !== TYPES.integration) {
        return { route: { routeKey, problem: 'its integration is not a resource of this stack' }, authorizerId };
      }
      const type = prop(integration, 'IntegrationType');
      const functionId = type === 'AWS_PROXY' || type === 'AWS' ? functionIn(template, prop(integration, 'IntegrationUri')) : undefined;
      if (!functionId) {
        return { route: { routeKey, problem: `its integration (${String(type)}) is not a Lambda function of this stack` }, authorizerId };
      }
      return { route: { routeKey, functionId }, authorizerId };
    });
}

/** `integrations/{Ref Integration}` (a `Fn::Join`, or `Fn::Sub`) → the integration's logical ID. */
function integrationIdOf(target: unknown): string | undefined {
  if (!isObject(target)) return undefined;
  const join = target['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    for (const part of join[1]) {
      const ref = refOf(part);
      if (ref !== undefined) return ref;
    }
  }
  const sub = target['Fn::Sub'];
  if (typeof sub === 'string') return /^integrations\/\$\{([^}.]+)\}$/.exec(sub)?.[1];
  return undefined;
}

function authorizerOf(template: CfnTemplate, authorizerId: string | undefined): ChatInTemplate['authorizer'] {
  if (authorizerId === undefined) return undefined;
  const authorizer = template.Resources[authorizerId];
  if (authorizer?.Type !== TYPES.authorizer) return undefined;
  const identitySource = prop(authorizer, 'IdentitySource');
  return {
    logicalId: authorizerId,
    functionId: functionIn(template, prop(authorizer, 'AuthorizerUri')),
    identitySource: Array.isArray(identitySource) ? identitySource.filter((s): s is string => typeof s === 'string') : [],
  };
}
