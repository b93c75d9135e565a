#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { QueryPushStack } from '../lib/query-push-stack';

export const app = new App();

new QueryPushStack(app, 'WebSocketChatQueryPush', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
