import { Stack, Stage } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { chatStack, ENV } from './chat-app';
import { removeSynthesizedApps, synth } from './synth';
import { ChatAuth, WebSocketChat } from '../../../src';
import { loadCloudAssemblyApp } from '../../../src/local/app/load-app';
import { selectChat } from '../../../src/local/app/select-chat';

/** Which chat `--app` runs: the only one, or the one `--stack` names; a list of choices otherwise. */

afterAll(removeSynthesizedApps);

/** A WebSocket API that is not a chat (its $connect function does not read CONNECTIONS_TABLE). */
function otherWebSocketApi(stack: Stack): void {
  const fn = new lambda.Function(stack, 'Echo', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
  });
  new apigwv2.WebSocketApi(stack, 'EchoApi', { connectRouteOptions: { integration: new WebSocketLambdaIntegration('EchoIntegration', fn) } });
}

const several = synth((app) => {
  chatStack(app, 'Alpha');
  chatStack(app, 'Beta', { stageName: 'beta' }, (stack) => otherWebSocketApi(stack));
  const stage = new Stage(app, 'Prod', { env: ENV });
  chatStack(stage, 'Gamma', { stageName: 'prod' });
  const twice = new Stack(app, 'Twice', { env: ENV });
  for (const id of ['Left', 'Right']) new WebSocketChat(twice, id, { auth: ChatAuth.hs256({ secret: new secretsmanager.Secret(twice, `${id}Key`) }) });
  new Stack(app, 'Empty');
});

test('several chats without --stack: an error that lists the choices', () => {
  expect(() => selectChat(several.outdir)).toThrow(
    `${several.outdir} has 5 WebSocketChats; pick one with --stack:\n  --stack Alpha\n  --stack Beta\n  --stack Prod/Gamma\n  --stack Twice/Left\n  --stack Twice/Right`,
  );
});

test('--stack picks a stack by its display name, artifact id or stack name; a stage\'s stack too', () => {
  expect(loadCloudAssemblyApp(several.outdir, { stack: 'Beta' }).stage).toBe('beta');
  expect(selectChat(several.outdir, 'Prod/Gamma').stack.stackName).toBe('Prod-Gamma');
  expect(selectChat(several.outdir, 'Prod-Gamma').chat.stage?.name).toBe('prod');
  const app = loadCloudAssemblyApp(several.outdir, { stack: 'Prod/Gamma' });
  expect(app.stage).toBe('prod');
  expect(app.source).toBe(`${several.outdir} (stack Prod/Gamma)`);
});

test('a WebSocket API that is not a chat is ignored', () => {
  const beta = selectChat(several.outdir, 'Beta');
  expect(beta.chat.label).toBe('Chat');
  expect(beta.chat.routes.map((r) => r.routeKey)).toContain('sendMessage');
});

test('two chats in one stack: STACK/CHAT picks one; STACK alone lists them', () => {
  expect(() => selectChat(several.outdir, 'Twice')).toThrow('--stack Twice: that stack has 2 WebSocketChats; pick one:\n  --stack Twice/Left\n  --stack Twice/Right');
  const right = loadCloudAssemblyApp(several.outdir, { stack: 'Twice/Right' });
  expect(right.source).toBe(`${several.outdir} (stack Twice, chat Right)`);
  expect(right.tables[0].name).toMatch(/^RightConnectionsTable/);
});

test('an unknown --stack, or one without a chat, is an error that lists the chats', () => {
  expect(() => selectChat(several.outdir, 'Nope')).toThrow(/^--stack Nope: no such chat\. The chats of .*:\n {2}--stack Alpha\n/);
  expect(() => selectChat(several.outdir, 'Empty')).toThrow(/^--stack Empty: no such chat \(stack Empty has no WebSocketChat\)/);
});

test('an assembly without a chat: an error naming its stacks', () => {
  const none = synth((app) => {
    otherWebSocketApi(new Stack(app, 'JustEcho'));
  });
  expect(() => selectChat(none.outdir)).toThrow(`no WebSocketChat found in ${none.outdir} (stacks: JustEcho). Synthesize an app that creates a WebSocketChat, or run without --app for the library's defaults.`);
});
