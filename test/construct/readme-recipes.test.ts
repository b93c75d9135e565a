import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as ts from 'typescript';
import { ChatAuth, WebSocketChat } from '../../src';
import { ENV, logicalId } from '../support/stack';

/** The README's ```ts blocks. */
function readmeSnippets(): string[] {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf-8');
  return [...readme.matchAll(/^```ts[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/**
 * Runs a README snippet the way the rosetta fixture places it: inside a Stack's constructor (`this` is the stack),
 * its `declare const` names given as arguments. `cdk-websocket-chat` is this repository's src/.
 */
function runSnippet(source: string, scope: Stack, declared: Record<string, unknown>, returns?: string): unknown {
  const lines = source.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import ') && !l.startsWith('declare const '));
  const names = Object.keys(declared);
  const result = returns ? `\nreturn ${returns};` : '';
  const module = `${imports.join('\n')}\nexport function snippet(this: any, ${names.map((n) => `${n}: any`).join(', ')}) {\n${body.join('\n')}${result}\n}\n`;
  const { outputText, diagnostics } = ts.transpileModule(module, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    reportDiagnostics: true,
  });
  expect(diagnostics ?? []).toEqual([]);
  const exports: { snippet?: (...args: unknown[]) => unknown } = {};
  // The snippet's own imports, as Node resolves them from this file (`cdk-websocket-chat`: this repository's src/).
  const requireFromSrc = createRequire(__filename);
  const load = (id: string) => requireFromSrc(id === 'cdk-websocket-chat' ? '../../src' : id);
  new Function('exports', 'require', outputText)(exports, load);
  return exports.snippet!.call(scope, ...names.map((n) => declared[n]));
}

describe('README: the EventBridge push recipe, synthesized', () => {
  const snippet = readmeSnippets().find((s) => s.includes('new events.Rule('));
  const app = new App();
  const stack = new Stack(app, 'Push', { env: ENV });
  const chat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none() });
  runSnippet(snippet!, stack, { chat });
  const template = Template.fromStack(stack);
  const publishId = logicalId(template, 'AWS::Lambda::Function', 'ChatPublish');
  const dlqId = logicalId(template, 'AWS::SQS::Queue', 'OrderEventsDeadLetters');

  test('a rule whose target is the publish function, with a retry policy and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'source': ['com.example.orders'], 'detail-type': ['Order Shipped'] },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [publishId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
      })],
    });
  });

  test('the input transformer builds the publish input: a user target, a type, data and the event id as idempotency key', () => {
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as any;
    const transformer = rule.Properties.Targets[0].InputTransformer;
    expect(Object.values(transformer.InputPathsMap).sort()).toEqual(['$.detail.customerId', '$.detail.orderId', '$.id']);
    const template_ = transformer.InputTemplate as string;
    for (const field of ['"user_id":', '"type":"order.shipped"', '"data":{"order_id":', '"idempotency_key":']) {
      expect(template_.replace(/\s/g, '')).toContain(field);
    }
  });

  test('EventBridge may invoke the publish function, and send to the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [publishId, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlqId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sqs:SendMessage', Principal: { Service: 'events.amazonaws.com' } })]) },
    });
  });
});

describe('README: the Step Functions push recipe, synthesized', () => {
  const snippet = readmeSnippets().find((s) => s.includes('new tasks.LambdaInvoke('));
  const app = new App();
  const stack = new Stack(app, 'Push', { env: ENV });
  const chat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none() });
  const notify = runSnippet(snippet!, stack, { chat }, 'notify') as sfn.IChainable;
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(notify) });
  const template = Template.fromStack(stack);

  test('the task invokes the publish function with a user target and the execution name as idempotency key', () => {
    const machine = template.findResources('AWS::StepFunctions::StateMachine')[logicalId(template, 'AWS::StepFunctions::StateMachine', 'Machine')];
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    expect(definition).toContain(logicalId(template, 'AWS::Lambda::Function', 'ChatPublish'));
    for (const field of ['user_id.$', '$.userId', 'report_url.$', 'idempotency_key.$', '$$.Execution.Name', 'report.ready']) {
      expect(definition).toContain(field);
    }
  });
});
