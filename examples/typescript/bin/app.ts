#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ChatStack } from '../lib/chat-stack';

export const app = new App();

// Your domain and its hosted zone: `npx cdk deploy -c domainName=chat.mydomain.com -c hostedZoneId=Z… -c zoneName=mydomain.com`.
new ChatStack(app, 'WebSocketChatExample', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  domainName: app.node.tryGetContext('domainName') ?? 'chat.example.com',
  hostedZoneId: app.node.tryGetContext('hostedZoneId') ?? 'Z0123456789EXAMPLE',
  zoneName: app.node.tryGetContext('zoneName') ?? 'example.com',
  alarmEmail: app.node.tryGetContext('alarmEmail'),
});
