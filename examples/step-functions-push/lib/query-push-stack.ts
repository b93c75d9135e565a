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
 * Last step of the state machine → Lambda: posts the result to the connection through the @connections API of
 * the stage (`MANAGEMENT_ENDPOINT`). 410 Gone means the client has left: nothing to retry.
 */
const PUSH_RESULT = `
const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require('@aws-sdk/client-apigatewaymanagementapi');
const api = new ApiGatewayManagementApiClient({ endpoint: process.env.MANAGEMENT_ENDPOINT });
exports.handler = async ({ connectionId, result }) => {
  try {
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify({ action: 'queryResult', ...result }) }));
    return { delivered: true };
  } catch (err) {
    if (err.$metadata?.httpStatusCode === 410) return { delivered: false, gone: true };
    throw err;
  }
};`;

/**
 * The asynchronous-results pattern: a client sends `{"action":"query","query":"…"}`, the `query` route starts a
 * Step Functions execution, and the state machine's last step pushes `{"action":"queryResult",…}` to the very
 * connection that asked, minutes later if need be (API Gateway's 29-second integration timeout does not apply).
 */
export class QueryPushStack extends Stack {
  public readonly chat: WebSocketChat;
  public readonly stateMachine: sfn.StateMachine;
  public readonly startQueryFunction: lambda.Function;
  public readonly pushResultFunction: lambda.Function;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const secret = new secretsmanager.Secret(this, 'ChatJwtKey', {
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    this.chat = new WebSocketChat(this, 'Chat', { auth: ChatAuth.hs256({ secret }) });

    this.pushResultFunction = new lambda.Function(this, 'PushResult', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(PUSH_RESULT),
      timeout: Duration.seconds(10),
      logGroup: new logs.LogGroup(this, 'PushResultLogs', { retention: logs.RetentionDays.ONE_MONTH }),
      environment: { MANAGEMENT_ENDPOINT: this.chat.managementEndpoint },
    });
    // POST/GET/DELETE @connections on this stage only.
    this.chat.grantManageConnections(this.pushResultFunction);

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
    const push = new tasks.LambdaInvoke(this, 'PushToConnection', {
      lambdaFunction: this.pushResultFunction,
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    push.addRetry({ errors: ['LimitExceededException', 'InternalServerError'], maxAttempts: 3, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });

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
    // `{"action":"query",…}` frames reach StartQuery, with the authorizer context in requestContext.authorizer.
    this.chat.addRoute('query', this.startQueryFunction);

    new CfnOutput(this, 'ChatUrl', { value: this.chat.url });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
  }
}
