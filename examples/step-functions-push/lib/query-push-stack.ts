import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { ChatAuth, WebSocketChat } from 'cdk-websocket-chat';
import type { Construct } from 'constructs';

/**
 * `query` route → Lambda: starts a Step Functions execution with the caller's connection id and the query,
 * answers at once. The client gets nothing until then.
 */
const START_QUERY = `
const { SFNClient, StartExecutionCommand } = require('@aws-sdk/client-sfn');
const sfn = new SFNClient({});
exports.handler = async (event) => {
  let query;
  try { query = JSON.parse(event.body).query; } catch { query = undefined; }
  if (typeof query !== 'string' || query.length === 0 || query.length > 1000) return { statusCode: 400 };
  await sfn.send(new StartExecutionCommand({
    stateMachineArn: process.env.STATE_MACHINE_ARN,
    input: JSON.stringify({ connectionId: event.requestContext.connectionId, userId: event.requestContext.authorizer.userId, query }),
  }));
  return { statusCode: 202 };
};`;

/**
 * The asynchronous-results pattern: a client sends `{"action":"query","query":"…"}`, the `query` route starts a
 * Step Functions execution, and the state machine's last step invokes the chat's publish function, which pushes an
 * `{"action":"event","type":"query.result",…}` frame to the very connection that asked, minutes later if need be
 * (API Gateway's 29-second integration timeout does not apply).
 */
export class QueryPushStack extends Stack {
  public readonly chat: WebSocketChat;
  public readonly stateMachine: sfn.StateMachine;
  public readonly startQueryFunction: lambda.Function;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const secret = new secretsmanager.Secret(this, 'ChatJwtKey', {
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.chat = new WebSocketChat(this, 'Chat', { auth: ChatAuth.hs256({ secret }) });

    // The work itself: here a wait and a formatted answer; in a real app, a query, a batch job, a model call…
    const work = new sfn.Wait(this, 'Work', { time: sfn.WaitTime.duration(Duration.seconds(2)) });
    const answer = new sfn.Pass(this, 'Answer', {
      parameters: {
        'connectionId.$': '$.connectionId',
        'result': {
          'query.$': '$.query',
          'answer.$': "States.Format('{} asked: {}', $.userId, $.query)",
        },
      },
    });
    // The chat's publish function pushes `{"action":"event","type":"query.result","data":{…}}` to the connection.
    // The execution name is the idempotency key: a retried task delivers once. A client that has left is no
    // failure (the answer counts it as `gone`).
    const push = new tasks.LambdaInvoke(this, 'PushToConnection', {
      lambdaFunction: this.chat.publishFunction,
      payload: sfn.TaskInput.fromObject({
        connection_id: sfn.JsonPath.stringAt('$.connectionId'),
        type: 'query.result',
        data: sfn.JsonPath.objectAt('$.result'),
        idempotency_key: sfn.JsonPath.executionName,
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });

    this.stateMachine = new sfn.StateMachine(this, 'Query', {
      definitionBody: sfn.DefinitionBody.fromChainable(work.next(answer).next(push)),
      timeout: Duration.minutes(15),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'QueryLogs', { retention: logs.RetentionDays.ONE_MONTH }),
        level: sfn.LogLevel.ERROR,
      },
    });

    this.startQueryFunction = new lambda.Function(this, 'StartQuery', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(START_QUERY),
      timeout: Duration.seconds(10),
      logGroup: new logs.LogGroup(this, 'StartQueryLogs', { retention: logs.RetentionDays.ONE_MONTH }),
      environment: { STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
    });
    this.stateMachine.grantStartExecution(this.startQueryFunction);
    // `{"action":"query",…}` frames reach StartQuery, with the authorizer context in requestContext.authorizer. It
    // answers nothing over the socket itself, so it needs no right to post to connections.
    this.chat.addRoute('query', this.startQueryFunction, { grantPost: false });

    new CfnOutput(this, 'ChatUrl', { value: this.chat.url });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
  }
}
