import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ChatAuth, WebSocketChat, type IWebSocketChat } from '../../src';
import { ENV, grantsOfRole } from '../support/stack';

const PUBLISH_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:chat-publish';

describe('WebSocketChat.fromAttributes', () => {
  const app = new App();
  const stack = new Stack(app, 'Backend', { env: ENV });
  const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:123456789012:key/1234');
  const chat: IWebSocketChat = WebSocketChat.fromAttributes(stack, 'Chat', {
    apiId: 'abc123',
    stageName: 'prod',
    connectionsTableName: 'chat-connections',
    messagesTableName: 'chat-messages',
    publishFunctionArn: PUBLISH_ARN,
    encryptionKey: key,
  });
  const fn = (id: string) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });
  chat.grantManageConnections(fn('Manager'));
  chat.grantPostToConnections(fn('Poster'));
  chat.grantReadConnections(fn('Reader'));
  chat.grantReadHistory(fn('HistoryReader'));
  chat.grantPublish(fn('Backend'));
  const template = Template.fromStack(stack);
  const own = (prefix: string) => grantsOfRole(template, prefix).filter((g) => !g.startsWith('logs:'));
  const table = (name: string) => `arn:AWS::Partition:dynamodb:eu-west-1:123456789012:table/${name}`;

  test('url and managementEndpoint of the execute-api stage', () => {
    expect(stack.resolve(chat.url)).toEqual({ 'Fn::Join': ['', ['wss://abc123.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/prod']] });
    expect(stack.resolve(chat.managementEndpoint)).toEqual({ 'Fn::Join': ['', ['https://abc123.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/prod']] });
    expect(chat.apiId).toBe('abc123');
    expect(chat.stageName).toBe('prod');
  });

  test('grantManageConnections / grantPostToConnections on that stage', () => {
    const manage = JSON.stringify(stack.resolve(Object.values(template.findResources('AWS::IAM::Policy')).map((p: any) => p.Properties)));
    expect(manage).toContain(':execute-api:eu-west-1:123456789012:abc123/prod/DELETE/@connections/*');
    expect(own('PosterServiceRole')).toHaveLength(1);
    expect(own('ManagerServiceRole')).toHaveLength(3);
  });

  test('grantReadConnections and grantReadHistory on the named tables, with the key', () => {
    const reader = own('ReaderServiceRole').join('\n');
    expect(reader).toContain(`dynamodb:Query on ${table('chat-connections')}/index/room_id-index`);
    expect(reader).toContain(`dynamodb:GetItem on ${table('chat-connections')}`);
    expect(reader).toContain('kms:Decrypt on arn:aws:kms:eu-west-1:123456789012:key/1234');
    expect(own('HistoryReaderServiceRole')).toEqual([
      `dynamodb:GetItem on ${table('chat-messages')}`,
      `dynamodb:Query on ${table('chat-messages')}`,
      'kms:Decrypt on arn:aws:kms:eu-west-1:123456789012:key/1234',
      'kms:DescribeKey on arn:aws:kms:eu-west-1:123456789012:key/1234',
    ]);
  });

  test('grantPublish: exactly lambda:InvokeFunction on the publish function', () => {
    expect(own('BackendServiceRole')).toEqual([`lambda:InvokeFunction on ${PUBLISH_ARN}`]);
  });
});

describe('WebSocketChat.fromAttributes with the least attributes', () => {
  const stack = new Stack(new App(), 'S', { env: ENV });
  const chat = WebSocketChat.fromAttributes(stack, 'Chat', {
    apiId: 'abc123', stageName: 'dev', connectionsTableName: 'conns', customDomainName: 'chat.example.com',
  });
  const role = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });

  test('url is the custom domain', () => {
    expect(chat.url).toBe('wss://chat.example.com');
  });

  test('grantReadHistory and grantPublish say what is missing', () => {
    expect(() => chat.grantReadHistory(role)).toThrow(/messagesTableName/);
    expect(() => chat.grantPublish(role)).toThrow(/publishFunctionArn/);
  });

  test('rejects an empty id', () => {
    expect(() => WebSocketChat.fromAttributes(stack, 'Bad', { apiId: '', stageName: 'dev', connectionsTableName: 'x' })).toThrow(/apiId is required/);
  });
});

test('a WebSocketChat is an IWebSocketChat', () => {
  const stack = new Stack(new App(), 'S');
  const chat: IWebSocketChat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none() });
  expect(typeof chat.grantPublish).toBe('function');
});
