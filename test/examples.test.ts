import * as vm from 'node:vm';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
// The examples import `cdk-websocket-chat` by name; jest's moduleNameMapper points it at src/ (see .projenrc.ts).
import { app as queryPushApp } from '../examples/step-functions-push/bin/app';
import { QueryPushStack } from '../examples/step-functions-push/lib/query-push-stack';
import { app as typescriptApp } from '../examples/typescript/bin/app';
import { ChatStack } from '../examples/typescript/lib/chat-stack';

const ENV = { account: '123456789012', region: 'eu-west-1' };

/** The logical ids of the resources of `type`. */
function idsOf(template: Template, type: string): string[] {
  return Object.keys(template.findResources(type));
}

/** The logical id of the only resource of `type` whose logical id starts with `prefix`. */
function idOf(template: Template, type: string, prefix: string): string {
  const ids = idsOf(template, type).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Statements of the policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): Array<Record<string, any>> {
  const roleId = idOf(template, 'AWS::IAM::Role', rolePrefix);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => (p.Properties.Roles as any[]).some((r) => r.Ref === roleId))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('examples/typescript: custom domain and alarms to SNS', () => {
  const app = new App();
  const stack = new ChatStack(app, 'Example', {
    env: ENV,
    domainName: 'chat.example.com',
    hostedZoneId: 'Z0123456789EXAMPLE',
    zoneName: 'example.com',
    alarmEmail: 'oncall@example.com',
  });
  const template = Template.fromStack(stack);

  test('a WebSocket API with a stage, a connections table and a messages table (history)', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET' });
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  test('HS256 tokens verified with the generated secret', () => {
    const secretId = idOf(template, 'AWS::SecretsManager::Secret', 'ChatJwtKey');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AUTH_SECRET_ARN: { Ref: secretId } }) },
    });
  });

  test('the custom domain: certificate, REGIONAL TLS 1.2 domain, mapping and alias record', () => {
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'chat.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'chat.example.com', HostedZoneId: 'Z0123456789EXAMPLE' }],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'chat.example.com',
      DomainNameConfigurations: [Match.objectLike({ EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' })],
    });
    template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'chat.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789EXAMPLE',
      AliasTarget: Match.anyValue(),
    });
    template.hasOutput('ChatUrl', { Value: 'wss://chat.example.com' });
  });

  test('every alarm notifies the SNS topic, which has the email subscription', () => {
    const topicId = idOf(template, 'AWS::SNS::Topic', 'ChatAlarms');
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(5);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
    expect(stack.chat.alarms).toHaveLength(alarms.length);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  test('a CloudWatch dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('bin/app.ts synthesizes a cloud assembly', () => {
    const assembly = typescriptApp.synth();
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['WebSocketChatExample']);
  });
});

describe('examples/step-functions-push: results pushed to the caller by Step Functions', () => {
  const app = new App();
  const stack = new QueryPushStack(app, 'Example', { env: ENV });
  const template = Template.fromStack(stack);
  const startRole = () => statementsOf(template, 'StartQueryServiceRole');

  test('a `query` route integrated with the StartQuery function', () => {
    const apiId = idsOf(template, 'AWS::ApiGatewayV2::Api')[0];
    const startId = idOf(template, 'AWS::Lambda::Function', 'StartQuery');
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: apiId },
      RouteKey: 'query',
      Target: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [startId, 'Arn'] }])],
      }),
    });
  });

  test('StartQuery may start the state machine, whose ARN it gets', () => {
    const machineId = idOf(template, 'AWS::StepFunctions::StateMachine', 'Query');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STATE_MACHINE_ARN: { Ref: machineId } }) },
    });
    expect(startRole()).toContainEqual(expect.objectContaining({
      Action: 'states:StartExecution',
      Effect: 'Allow',
      Resource: { Ref: machineId },
    }));
  });

  test('the state machine ends by invoking the chat\'s publish function, addressed to the connection that asked', () => {
    const publishId = idOf(template, 'AWS::Lambda::Function', 'ChatPublish');
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const definition = JSON.stringify(machine.Properties.DefinitionString);
    expect(definition).toContain('\\"PushToConnection\\":{\\"End\\":true');
    expect(definition).toContain(publishId);
    for (const field of ['connection_id.$', '$.connectionId', 'query.result', 'data.$', '$.result', 'idempotency_key.$', '$$.Execution.Name']) {
      expect(definition).toContain(field);
    }
  });

  test('the state machine may invoke the publish function; StartQuery may not post to connections', () => {
    const publishId = idOf(template, 'AWS::Lambda::Function', 'ChatPublish');
    const machineRole = statementsOf(template, 'QueryRole');
    expect(JSON.stringify(machineRole.filter((s) => s.Action === 'lambda:InvokeFunction'))).toContain(publishId);
    expect(startRole().some((s) => [].concat(s.Action).some((a: string) => a.startsWith('execute-api:')))).toBe(false);
  });

  test('inline handlers stay small', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const inline: string | undefined = fn.Properties.Code.ZipFile;
      if (inline !== undefined) expect(inline.length).toBeLessThan(2000);
    }
  });

  describe('the inline handlers', () => {
    const inlineCode = (prefix: string): string =>
      template.findResources('AWS::Lambda::Function')[idOf(template, 'AWS::Lambda::Function', prefix)].Properties.Code.ZipFile;

    /** Loads inline code as Lambda loads index.js, with the given `require` and `process`. */
    const load = <T>(prefix: string, req: (id: string) => unknown): T => {
      const module = { exports: {} as T };
      new vm.Script(`(function (exports, require, module, process) {${inlineCode(prefix)}\n})`)
        .runInThisContext()(module.exports, req, module, process);
      return module.exports;
    };

    test('StartQuery starts an execution with the caller\'s connection id, user and query', async () => {
      // @aws-sdk/client-sfn (in the Lambda runtime) is not a dependency of this repository: a stand-in records the call.
      const started: unknown[] = [];
      const sfnStandIn = {
        SFNClient: class { async send(command: { input: unknown }) { started.push(command.input); return {}; } },
        StartExecutionCommand: class { constructor(public readonly input: unknown) {} },
      };
      process.env.STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Query';
      const { handler } = load<{ handler: (event: unknown) => Promise<unknown> }>('StartQuery', (id) => {
        expect(id).toBe('@aws-sdk/client-sfn');
        return sfnStandIn;
      });
      const event = (body: string) => ({
        body,
        requestContext: { connectionId: 'conn-1=', routeKey: 'query', authorizer: { userId: 'alice', roomId: 'lobby' } },
      });

      await expect(handler(event(JSON.stringify({ action: 'query', query: 'how many rooms?' })))).resolves.toEqual({ statusCode: 202 });
      expect(started).toEqual([{
        stateMachineArn: process.env.STATE_MACHINE_ARN,
        input: JSON.stringify({ connectionId: 'conn-1=', userId: 'alice', query: 'how many rooms?' }),
      }]);
      for (const bad of ['not json', JSON.stringify({ action: 'query' }), JSON.stringify({ action: 'query', query: 'x'.repeat(1001) })]) {
        await expect(handler(event(bad))).resolves.toEqual({ statusCode: 400 });
      }
      expect(started).toHaveLength(1);
    });
  });

  test('bin/app.ts synthesizes a cloud assembly', () => {
    const assembly = queryPushApp.synth();
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(['WebSocketChatQueryPush']);
  });
});
