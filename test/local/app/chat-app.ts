import * as path from 'node:path';
import { Stack, type Stage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { FIXTURES } from './synth';
import { ChatAuth, WebSocketChat, type WebSocketChatProps } from '../../../src';

/** Apps with a `WebSocketChat`, for the loader's tests. */

/** The app's own route, shipped as an asset directory. */
export const QUERY_HANDLER = path.join(FIXTURES, 'query-handler');

export const ENV = { account: '123456789012', region: 'eu-west-1' };

/** A stack with one `WebSocketChat` (HS256 with a fresh secret unless `props.auth` says otherwise). */
export function chatStack(
  app: Stage,
  id: string,
  props: Partial<WebSocketChatProps> = {},
  configure?: (stack: Stack, chat: WebSocketChat) => void,
): WebSocketChat {
  const stack = new Stack(app, id, { env: ENV });
  const auth = props.auth ?? ChatAuth.hs256({ secret: new secretsmanager.Secret(stack, 'JwtSecret') });
  const chat = new WebSocketChat(stack, 'Chat', { ...props, auth });
  configure?.(stack, chat);
  return chat;
}

/** The app's `query` route: a Node.js function from the `query-handler` asset directory. */
export function queryFunction(stack: Stack, id = 'Query', environment: Record<string, string> = {}): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(QUERY_HANDLER),
    environment,
  });
}
