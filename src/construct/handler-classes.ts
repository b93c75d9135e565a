import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { AuthorizerFunction } from '../handlers/authorizer-function';
import { ConnectFunction } from '../handlers/connect-function';
import { DefaultFunction } from '../handlers/default-function';
import { DisconnectFunction } from '../handlers/disconnect-function';
import { FanoutWorkerFunction } from '../handlers/fanout-worker-function';
import { HistoryFunction } from '../handlers/history-function';
import { JoinFunction } from '../handlers/join-function';
import { LeaveFunction } from '../handlers/leave-function';
import { PingFunction } from '../handlers/ping-function';
import { PresenceFunction } from '../handlers/presence-function';
import { PublishFunction } from '../handlers/publish-function';
import { SendMessageFunction } from '../handlers/send-message-function';

/** A function class projen generates for a `*.lambda.ts` bundle (code from `assets/handlers/{bundle}.lambda/`). */
export type HandlerClass = new (scope: Construct, id: string, props?: lambda.FunctionOptions) => lambda.Function;

/**
 * The generated function class of each handler bundle of the shared spec (`HandlerSpec.bundle`).
 *
 * @internal
 */
export const HANDLER_CLASSES: Readonly<Record<string, HandlerClass>> = {
  'authorizer': AuthorizerFunction,
  'connect': ConnectFunction,
  'disconnect': DisconnectFunction,
  'send-message': SendMessageFunction,
  'ping': PingFunction,
  'default': DefaultFunction,
  'join': JoinFunction,
  'leave': LeaveFunction,
  'presence': PresenceFunction,
  'history': HistoryFunction,
  'publish': PublishFunction,
  'fanout-worker': FanoutWorkerFunction,
};

/** The generated class of `bundle`. */
export function handlerClass(bundle: string): HandlerClass {
  const cls = HANDLER_CLASSES[bundle];
  if (!cls) throw new Error(`no generated function class for the handler bundle "${bundle}" (run npx projen)`);
  return cls;
}
