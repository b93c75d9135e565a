import { ENV } from '../../shared/contract';
import type { EnvValue } from '../app-model';
import type { AppFunctions } from './app-functions';
import { environmentOf } from './find-chat';
import { LOCAL_ACCOUNT, LOCAL_PARTITION, type ResolveScope } from './intrinsics';
import type { ChatCandidate } from './select-chat';
import { refOf, TYPES } from './template';

/**
 * What the chat's own resources are on the gateway, for resolving environment values: its tables (their local
 * names), the auth secret, the API (part of the management endpoint), the stage (its name) and the functions the
 * gateway runs (their local names and ARNs).
 */

export interface LocalScope {
  readonly scope: ResolveScope;
  /** Template values (their JSON) that stand for a gateway value wherever they appear. */
  readonly sameAs: ReadonlyMap<string, EnvValue>;
}

/** `tableNames`: logical ID → local name of the chat's tables; `messagesTableId`: see {@link messagesTableOf}. */
export function localScope(
  candidate: ChatCandidate,
  { functions, notRunnable }: AppFunctions,
  tableNames: ReadonlyMap<string, string>,
  messagesTableId: string | undefined,
  region: string,
): LocalScope {
  const { stack, template, chat } = candidate;
  const resources = template.Resources;
  const authorizer = chat.authorizer?.functionId ? resources[chat.authorizer.functionId] : undefined;
  const authorizerEnv = environmentOf(authorizer);
  const secretId = refOf(authorizerEnv[ENV.authSecretArn]);
  const localArn = (name: string) => `arn:${LOCAL_PARTITION}:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;
  const scope: ResolveScope = {
    template,
    stackName: stack.stackName,
    region,
    resource(logicalId, attribute) {
      const fn = functions.get(logicalId);
      if (fn && (attribute === undefined || attribute === 'Arn')) {
        return { kind: 'local', value: { localFunction: fn.name }, text: attribute === 'Arn' ? localArn(fn.name) : fn.name };
      }
      const reason = notRunnable.get(logicalId);
      if (reason !== undefined) return { kind: 'unresolved', what: `a function the local gateway cannot run (${reason})` };
      if (attribute !== undefined) return undefined;
      if (logicalId === chat.connectionsTableId) return { kind: 'local', value: { local: 'connectionsTable' }, text: tableNames.get(logicalId) };
      if (logicalId === messagesTableId) return { kind: 'local', value: { local: 'messagesTable' }, text: tableNames.get(logicalId) };
      if (logicalId === secretId) return { kind: 'local', value: { local: 'authSecretArn' } };
      if (logicalId === chat.apiId) return { kind: 'api' };
      if (logicalId === chat.stage?.logicalId) return { kind: 'text', text: chat.stage.name };
      return undefined;
    },
  };
  // The authorizer's secret and JWKS URL, however the template spells them (a Ref, an imported secret's literal ARN).
  const sameAs = new Map<string, EnvValue>();
  if (authorizerEnv[ENV.authSecretArn] !== undefined) sameAs.set(JSON.stringify(authorizerEnv[ENV.authSecretArn]), { local: 'authSecretArn' });
  if (authorizerEnv[ENV.authJwksUrl] !== undefined) sameAs.set(JSON.stringify(authorizerEnv[ENV.authJwksUrl]), { local: 'jwksUrl' });
  return { scope, sameAs };
}

/** The messages table (history on): the table a built-in handler's `MESSAGES_TABLE` names. */
export function messagesTableOf({ template }: ChatCandidate, { functions }: AppFunctions): string | undefined {
  return [...functions.values()]
    .filter((f) => f.builtIn)
    .map((f) => refOf(environmentOf(template.Resources[f.logicalId])[ENV.messagesTable]))
    .find((id) => id !== undefined && template.Resources[id]?.Type === TYPES.table);
}
