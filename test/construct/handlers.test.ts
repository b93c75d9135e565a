import { Match, type Template } from 'aws-cdk-lib/assertions';
import { HANDLER_CLASSES } from '../../src/construct/handler-classes';
import { DEFAULTS, ENV } from '../../src/shared/contract';
import { activeHandlers, AUTH_ENV, HANDLERS, TIMEOUT_SECONDS, type HandlerSpec } from '../../src/shared/spec';
import { chatStack, grantsOfRole, logicalId } from '../support/stack';

/** The generated class adds this one; every other variable comes from the spec's list. */
const RUNTIME_ENV = 'AWS_NODEJS_CONNECTION_REUSE_ENABLED';
const LOG_GRANTS = ['logs:CreateLogStream on logs', 'logs:PutLogEvents on logs'];
/** Invoked asynchronously: each has an on-failure queue it may send to. */
const ASYNC_INVOKED = ['publish', 'fanoutWorker'];

/** What a handler's role may do according to its spec entry (plus its on-failure queue), in `grantsOfRole`'s words. */
function expectedGrants(template: Template, spec: HandlerSpec, history: boolean): string[] {
  const grants = [...LOG_GRANTS];
  for (const tableGrant of spec.tables) {
    if (tableGrant.table === 'messages' && !history) continue;
    for (const action of tableGrant.actions) grants.push(`dynamodb:${action} on ${tableGrant.table}`);
    for (const index of tableGrant.queryIndexes ?? []) grants.push(`dynamodb:Query on ${tableGrant.table}/index/${index}`);
  }
  if (spec.postsToConnections) grants.push('execute-api:ManageConnections on POST @connections');
  for (const target of spec.invokes) {
    grants.push(`lambda:InvokeFunction on ${logicalId(template, 'AWS::Lambda::Function', `Chat${HANDLERS.find((h) => h.id === target)!.constructId}`)}`);
  }
  if (ASYNC_INVOKED.includes(spec.id)) {
    const queue = logicalId(template, 'AWS::SQS::Queue', `Chat${spec.resourceId}DeadLetterQueue`);
    grants.push(...['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].map((a) => `${a} on ${queue}`));
  }
  return [...new Set(grants)].sort();
}

describe.each([true, false])('handlers built from the spec (history %s)', (history) => {
  const { template } = chatStack({ history });
  const functions = template.findResources('AWS::Lambda::Function');
  const functionOf = (spec: HandlerSpec) => functions[logicalId(template, 'AWS::Lambda::Function', `Chat${spec.constructId}`)].Properties;
  const specs = activeHandlers(history);

  test('one function per active handler, no other', () => {
    expect(Object.keys(functions)).toHaveLength(specs.length);
  });

  test.each(specs.map((s) => [s.id, s] as const))('%s: exactly the environment variables its spec lists', (_id, spec) => {
    const names = Object.keys(functionOf(spec).Environment.Variables).filter((n) => n !== RUNTIME_ENV).sort();
    if (spec.id === 'authorizer') {
      // A ChatAuth sets the variables of its mode: a subset of the authorizer's list.
      expect(AUTH_ENV).toEqual(expect.arrayContaining(names));
    } else {
      const expected = spec.env.filter((n) => history || n !== ENV.messagesTable);
      expect(names).toEqual([...expected].sort());
    }
  });

  test.each(specs.map((s) => [s.id, s] as const))('%s: timeout and memory of its size class, arm64, its own log group', (_id, spec) => {
    const fn = functionOf(spec);
    expect(fn.Timeout).toBe(TIMEOUT_SECONDS[spec.size]);
    expect(fn.MemorySize).toBe(spec.size === 'standard' ? DEFAULTS.handlerMemorySize : DEFAULTS.fanoutMemorySize);
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Description).toBe(spec.description);
    expect(fn.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(template, 'AWS::Logs::LogGroup', `Chat${spec.resourceId}Logs`) });
  });

  test.each(specs.filter((s) => s.id !== 'authorizer').map((s) => [s.id, s] as const))(
    '%s: its role may do exactly what its spec grants',
    (_id, spec) => {
      expect(grantsOfRole(template, `Chat${spec.resourceId}Role`)).toEqual(expectedGrants(template, spec, history));
    },
  );

  test('no role may Scan, and no action is a wildcard', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) =>
      p.Properties.PolicyDocument.Statement.flatMap((s: any) => [].concat(s.Action)),
    );
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions.filter((a: string) => a.includes('*'))).toEqual([]);
  });
});

describe('the new handlers\' grants, spelled out', () => {
  const { template } = chatStack();
  const cleanup = ['dynamodb:BatchWriteItem on connections', 'dynamodb:Query on connections'];
  const post = 'execute-api:ManageConnections on POST @connections';
  const roomIndex = 'dynamodb:Query on connections/index/room_id-index';

  test.each([
    ['Join', ['dynamodb:GetItem on connections', 'dynamodb:PutItem on connections', ...cleanup, roomIndex, 'dynamodb:GetItem on messages', post]],
    ['Leave', ['dynamodb:DeleteItem on connections', ...cleanup, roomIndex, post]],
    ['Presence', ['dynamodb:GetItem on connections', ...cleanup, roomIndex, post]],
    ['History', ['dynamodb:GetItem on connections', ...cleanup, 'dynamodb:GetItem on messages', 'dynamodb:Query on messages', post]],
    ['Publish', [
      'dynamodb:PutItem on connections', 'dynamodb:DeleteItem on connections', ...cleanup, roomIndex,
      'dynamodb:Query on connections/index/user_id-index', 'dynamodb:UpdateItem on messages', 'dynamodb:PutItem on messages', post,
      `lambda:InvokeFunction on ${logicalId(template, 'AWS::Lambda::Function', 'ChatFanoutWorker')}`,
      // Its on-failure destination.
      ...['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].map((a) => `${a} on ${logicalId(template, 'AWS::SQS::Queue', 'ChatPublishDeadLetterQueue')}`),
    ]],
    ['FanoutWorker', [
      'dynamodb:GetItem on connections', 'dynamodb:PutItem on connections', ...cleanup, roomIndex, post,
      ...['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].map((a) => `${a} on ${logicalId(template, 'AWS::SQS::Queue', 'ChatFanoutWorkerDeadLetterQueue')}`),
    ]],
  ])('%s', (resourceId, grants) => {
    expect(grantsOfRole(template, `Chat${resourceId}Role`)).toEqual([...LOG_GRANTS, ...grants].sort());
  });

  test('sendMessage may invoke the fan-out worker (its function ARN, no qualifier wildcard) and reads no user index', () => {
    const grants = grantsOfRole(template, 'ChatSendMessageRole');
    expect(grants).toContain(`lambda:InvokeFunction on ${logicalId(template, 'AWS::Lambda::Function', 'ChatFanoutWorker')}`);
    expect(grants.some((g) => g.includes('user_id-index'))).toBe(false);
  });

  test('the authorizer reads only its secret', () => {
    const grants = grantsOfRole(template, 'ChatAuthorizerRole');
    expect(grants.filter((g) => !g.startsWith('logs:'))).toEqual([
      `secretsmanager:DescribeSecret on ${logicalId(template, 'AWS::SecretsManager::Secret', 'JwtSecret')}`,
      `secretsmanager:GetSecretValue on ${logicalId(template, 'AWS::SecretsManager::Secret', 'JwtSecret')}`,
    ]);
  });

  test('the handlers that post know where and how', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^WebSocketChat publish'),
      Environment: {
        Variables: Match.objectLike({
          [ENV.fanoutWorkerFunction]: { Ref: logicalId(template, 'AWS::Lambda::Function', 'ChatFanoutWorker') },
          [ENV.managementEndpoint]: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
          [ENV.shardThreshold]: String(DEFAULTS.shardThreshold),
          [ENV.maxFanoutWorkers]: String(DEFAULTS.maxFanoutWorkers),
          [ENV.fanoutRateBudget]: String(DEFAULTS.fanoutRateBudget),
          [ENV.historyRetentionSeconds]: String(DEFAULTS.historyRetentionSeconds),
          [ENV.messagesTable]: { Ref: logicalId(template, 'AWS::DynamoDB::Table', 'ChatMessagesTable') },
          [ENV.postBackoffBaseMs]: String(DEFAULTS.postBackoffBaseMs),
        }),
      },
    });
  });
});

test('every bundle of the spec has its generated function class', () => {
  for (const spec of HANDLERS) expect(HANDLER_CLASSES[spec.bundle]).toBeDefined();
  expect(Object.keys(HANDLER_CLASSES).sort()).toEqual(HANDLERS.map((h) => h.bundle).sort());
});
