import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ChatAuth, WebSocketChat, type WebSocketChatProps } from '../../src';

export const ENV = { account: '123456789012', region: 'eu-west-1' };

/** A stack with one WebSocketChat; `auth` defaults to HS256 with a fresh secret. */
export function chatStack(props: Partial<WebSocketChatProps> = {}, configure?: (stack: Stack, chat: WebSocketChat) => void) {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: ENV });
  const secret = new secretsmanager.Secret(stack, 'JwtSecret');
  const chat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.hs256({ secret }), ...props });
  configure?.(stack, chat);
  return { app, stack, chat, secret, template: Template.fromStack(stack) };
}

/** The logical id of the only resource of `type` whose logical id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** All IAM policy statements attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOfRole(template: Template, rolePrefix: string): Array<Record<string, any>> {
  const roleId = logicalId(template, 'AWS::IAM::Role', rolePrefix);
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) =>
    (p.Properties.Roles as any[]).some((r) => r.Ref === roleId),
  );
  return policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

/**
 * The grants of the role whose logical id starts with `rolePrefix`, one readable line per action and resource:
 * `dynamodb:Query on connections/index/room_id-index`, `execute-api:ManageConnections on POST @connections`,
 * `lambda:InvokeFunction on ChatFanoutWorker…`, `logs:PutLogEvents on logs`. Tables are named by their construct
 * id (`connections`, `messages`).
 */
export function grantsOfRole(template: Template, rolePrefix: string): string[] {
  const tables: Record<string, string> = {};
  for (const id of Object.keys(template.findResources('AWS::DynamoDB::Table'))) {
    tables[id] = id.includes('ConnectionsTable') ? 'connections' : id.includes('MessagesTable') ? 'messages' : id;
  }
  const describe = (resource: any): string => {
    if (typeof resource === 'string') return resource;
    const getAtt = resource['Fn::GetAtt'];
    if (getAtt) {
      const [id] = getAtt as [string, string];
      if (tables[id]) return tables[id];
      if (id.includes('Logs')) return 'logs';
      return id;
    }
    const join = resource['Fn::Join'];
    if (join) {
      const parts = (join[1] as any[]).map((p) => (typeof p === 'string' ? p : describe(p)));
      const text = parts.join('');
      const connections = /\/(POST|GET|DELETE)\/@connections\/\*$/.exec(text);
      if (connections) return `${connections[1]} @connections`;
      return text;
    }
    if (resource.Ref) return resource.Ref;
    return JSON.stringify(resource);
  };
  return statementsOfRole(template, rolePrefix).flatMap((statement) =>
    ([] as any[]).concat(statement.Action).flatMap((action: string) =>
      ([] as any[]).concat(statement.Resource).map((resource) => `${action} on ${describe(resource)}`)),
  ).sort();
}
