import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { ChatAuth, WebSocketChat } from '../../src';
import { activeHandlers } from '../../src/shared/spec';
import { chatStack, logicalId } from '../support/stack';

const alarmsOf = (template: Template) => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];

describe('alarms with defaults', () => {
  const { template, chat } = chatStack();
  /** Handlers with an Errors alarm: all but the authorizer. */
  const alarmed = activeHandlers(true).filter((h) => h.id !== 'authorizer');

  test('throttles, connections, API errors, fan-out and store failures, handler errors, dead letters', () => {
    const expected = 2 + 1 + 2 + 1 + 1 + alarmed.length + 2;
    expect(chat.alarms).toHaveLength(expected);
    template.resourceCountIs('AWS::CloudWatch::Alarm', expected);
  });

  test('named members point at their alarms', () => {
    const named = [
      chat.readThrottlesAlarm, chat.writeThrottlesAlarm, chat.connectCountAlarm, chat.integrationErrorsAlarm,
      chat.executionErrorsAlarm, chat.fanoutFailuresAlarm, chat.storeFailuresAlarm,
      ...Object.values(chat.handlerErrorsAlarms), ...Object.values(chat.deadLettersAlarms),
    ];
    expect(named.every((a) => a !== undefined)).toBe(true);
    expect(new Set(named)).toEqual(new Set(chat.alarms));
    expect(Object.keys(chat.handlerErrorsAlarms).sort()).toEqual(alarmed.map((h) => h.resourceId).sort());
    expect(Object.keys(chat.deadLettersAlarms).sort()).toEqual(['FanoutWorker', 'Publish']);
  });

  test('connection count above 1000 in one 5-minute period', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ConnectCount',
      Namespace: 'AWS/ApiGateway',
      Threshold: 1000,
      EvaluationPeriods: 1,
      Period: 300,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test.each([
    ['IntegrationError', 'AWS/ApiGateway'],
    ['ExecutionError', 'AWS/ApiGateway'],
    ['PostsFailed', 'WebSocketChat'],
    ['StoreFailures', 'WebSocketChat'],
  ])('%s (%s) above 0', (metricName, namespace) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: metricName, Namespace: namespace, Threshold: 0, EvaluationPeriods: 1 });
  });

  test('throttle alarms sum both tables and both indexes, over two 5-minute periods', () => {
    for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      const stat = Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: metricName }) }) });
      const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { Metrics: Match.arrayWith([stat]) } })) as any[];
      expect(alarm.Properties).toMatchObject({ Threshold: 0, EvaluationPeriods: 2, ComparisonOperator: 'GreaterThanThreshold' });
      const metrics = alarm.Properties.Metrics as any[];
      expect(metrics.find((m) => m.Expression).Expression).toBe('SUM([table, index0, index1, messages])');
      const sources = metrics.filter((m) => m.MetricStat).map((m) => {
        const dims = m.MetricStat.Metric.Dimensions as any[];
        const table = dims.find((d) => d.Name === 'TableName').Value.Ref as string;
        const index = dims.find((d) => d.Name === 'GlobalSecondaryIndexName')?.Value;
        return `${table.replace(/[A-F0-9]{8}$/, '')}${index ? `/${index}` : ''}`;
      });
      expect(sources.sort()).toEqual(['ChatConnectionsTable', 'ChatConnectionsTable/room_id-index', 'ChatConnectionsTable/user_id-index', 'ChatMessagesTable']);
      for (const m of metrics.filter((x) => x.MetricStat)) expect(m.MetricStat).toMatchObject({ Period: 300, Stat: 'Sum' });
    }
  });

  test('every handler but the authorizer has an Errors alarm (a 401 is a thrown error)', () => {
    const alarms = alarmsOf(template).filter((a) => a.Properties.MetricName === 'Errors');
    const functionIds = alarms.map((a) => a.Properties.Dimensions[0].Value.Ref as string);
    expect(functionIds).toHaveLength(alarmed.length);
    expect(functionIds.some((id) => id.startsWith('ChatAuthorizer'))).toBe(false);
  });

  test('each on-failure queue alarms on its first message', () => {
    for (const queue of ['ChatFanoutWorkerDeadLetterQueue', 'ChatPublishDeadLetterQueue']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', queue), 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 0,
      });
    }
  });
});

describe('alarm options', () => {
  const { template, chat } = chatStack({
    alarmOptions: {
      connectCount: { threshold: 25, evaluationPeriods: 3 },
      integrationErrors: { enabled: false },
      handlerErrors: { threshold: 5 },
      deadLetters: { enabled: false },
    },
  });

  test('a threshold and periods can be tuned', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ConnectCount', Threshold: 25, EvaluationPeriods: 3 });
    expect(chat.connectCountAlarm).toBeDefined();
  });

  test('an alarm can be switched off: no resource, no member', () => {
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'IntegrationError' }, 0);
    expect(chat.integrationErrorsAlarm).toBeUndefined();
    expect(chat.deadLettersAlarms).toEqual({});
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS' }, 0);
  });

  test('a group of alarms shares its options', () => {
    for (const alarm of alarmsOf(template).filter((a) => a.Properties.MetricName === 'Errors')) {
      expect(alarm.Properties.Threshold).toBe(5);
    }
  });
});

describe('dashboard', () => {
  const app = new App();
  const stack = new Stack(app, 'S');
  const chat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none() });
  const dashboard = new cloudwatch.Dashboard(stack, 'Mine');
  chat.addToDashboard(dashboard);
  const template = Template.fromStack(stack);
  const body = JSON.stringify(stack.resolve((template.findResources('AWS::CloudWatch::Dashboard')[stack.getLogicalId(dashboard.node.defaultChild as cloudwatch.CfnDashboard)]).Properties.DashboardBody));

  test.each([
    'Connections', 'Client frames', 'History', 'Fan-out outcomes', 'Large rooms', 'Latency (ms)', 'API Gateway errors', 'Handler errors', 'Throttles',
  ])('has the "%s" graph', (title) => {
    expect(body).toContain(`\\"title\\":\\"${title}\\"`);
  });

  test.each(['ConnectCount', 'MessageCount', 'PostsDelivered', 'ConnectionsGone', 'PostsFailed', 'IntegrationLatency', 'TimeToLastPostMs', 'ClientError', 'ReadThrottleEvents', 'Throttles', 'Errors'])(
    'shows %s',
    (metricName) => {
      expect(body).toContain(`\\"${metricName}\\"`);
    },
  );
});
