import { ENV } from '../../shared/contract';
import { HANDLERS, type HandlerId } from '../../shared/spec';
import { localFunctionName } from '../default-app';
import { readAssets } from './cloud-assembly';
import { AppLoadError } from './errors';
import { environmentOf } from './find-chat';
import { functionCode, type FunctionCode } from './function-code';
import type { ResolveScope } from './intrinsics';
import type { ChatCandidate } from './select-chat';
import { getAttOf, isObject, prop, refOf, resourcesOfType, TYPES, type CfnTemplate } from './template';

/**
 * Which functions of the stack the gateway runs: the chat's routes, its authorizer and its other built-in handlers
 * (publish, the fan-out worker) — one that cannot run is an error — then, transitively, the functions their
 * environments name (`Ref` / `Fn::GetAtt … Arn`) — one that cannot run is remembered, and a variable naming it is
 * reported. The stack's other functions are left alone.
 */

export interface AppFunction {
  readonly logicalId: string;
  /** Its local name: a built-in handler's spec id (as in the defaults), another function's logical ID. */
  readonly name: string;
  /** How messages name it: `Query (Query435140A1)` (construct path and logical ID). */
  readonly label: string;
  readonly builtIn?: HandlerId;
  readonly code: FunctionCode;
}

export interface AppFunctions {
  /** By logical ID, in the order they were found (routes first). */
  readonly functions: ReadonlyMap<string, AppFunction>;
  /** Functions an environment names that the gateway cannot run: logical ID → why. */
  readonly notRunnable: ReadonlyMap<string, string>;
  /** Routes that are not served (not a Lambda function of the stack). */
  readonly warnings: readonly string[];
}

export function appFunctions(candidate: ChatCandidate, region: string): AppFunctions {
  const { stack, template, chat } = candidate;
  const assets = readAssets(stack);
  const warnings: string[] = [];
  const builtIns = builtInHandlers(candidate);
  const required = new Set<string>();
  for (const route of chat.routes) {
    if (route.functionId) required.add(route.functionId);
    else warnings.push(`route ${route.routeKey}: ${route.problem ?? 'no Lambda function'}; the local gateway does not serve it`);
  }
  if (chat.authorizer?.functionId) required.add(chat.authorizer.functionId);
  for (const logicalId of builtIns.keys()) required.add(logicalId);

  // Code locations need literals only (an S3 key, inline code): no resource means anything here.
  const codeScope: ResolveScope = { template, stackName: stack.stackName, region, resource: () => undefined };
  const functions = new Map<string, AppFunction>();
  const notRunnable = new Map<string, string>();
  const add = (logicalId: string) => {
    const code = functionCode(labelOf(candidate, logicalId), template.Resources[logicalId], assets, stack.assemblyDir, codeScope);
    const builtIn = builtIns.get(logicalId);
    const name = builtIn ? localFunctionName(builtIn) : logicalId;
    functions.set(logicalId, { logicalId, name, label: labelOf(candidate, logicalId), builtIn, code });
  };
  for (const logicalId of required) add(logicalId);
  const queue = [...required];
  while (queue.length > 0) {
    const logicalId = queue.shift()!;
    for (const referenced of functionsReferenced(template, environmentOf(template.Resources[logicalId]))) {
      if (functions.has(referenced) || notRunnable.has(referenced)) continue;
      try {
        add(referenced);
        queue.push(referenced);
      } catch (err) {
        if (!(err instanceof AppLoadError)) throw err;
        notRunnable.set(referenced, err.message);
      }
    }
  }
  return { functions, notRunnable, warnings };
}

/** `Query (Query435140A1)`: the construct path (without `/Resource`) and the logical ID. */
export function labelOf({ paths }: ChatCandidate, logicalId: string): string {
  const constructPath = paths.get(logicalId)?.replace(/\/Resource$/, '');
  return constructPath ? `${constructPath} (${logicalId})` : logicalId;
}

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
  for (const spec of HANDLERS.filter((h) => h.routeKey === undefined && h.id !== 'authorizer')) {
    const byPath = chat.constructPath ? usesTable.find((id) => paths.get(id) === `${chat.constructPath}/${spec.constructId}/Resource`) : undefined;
    const found = byPath ?? usesTable.find((id) => prop(template.Resources[id], 'Description') === spec.description);
    if (found) builtIns.set(found, spec.id);
  }
  return builtIns;
}

/** Lambda functions of the template that a value refers to (`Ref`, `Fn::GetAtt … Arn`, `${Fn}` in `Fn::Sub`). */
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
