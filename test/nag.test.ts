import { App, Stack, Validations } from 'aws-cdk-lib';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ChatAuth, WebSocketChat } from '../src';
import { ENV } from './support/stack';

/**
 * Runs the AwsSolutions pack (cdk-nag v3) over `build`'s stack after synthesis, and returns its unacknowledged
 * findings as `RULE at PATH` lines (none = pass). Acknowledgements are `Validations.of(x).acknowledge()` on the
 * constructs. (`validateScope` is cdk-nag's direct entry point, for CDK versions whose validation context does
 * not carry the construct tree.)
 */
function nagFindings(build: (stack: Stack) => void): string[] {
  const app = new App();
  const stack = new Stack(app, 'NagStack', { env: ENV });
  build(stack);
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.locations.join(',') || r.resourceLogicalId}: ${v.description}`),
  );
}

test('the construct has no unacknowledged AwsSolutions findings (HS256, custom domain, alarms)', () => {
  const findings = nagFindings((stack) => {
    const secret = new secretsmanager.Secret(stack, 'JwtSecret');
    // The app's secret, not the construct's: rotation is the app's concern.
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture: the app owns its key rotation.' });
    const topic = new sns.Topic(stack, 'Alarms', { enforceSSL: true });
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z123', zoneName: 'example.com' });
    new WebSocketChat(stack, 'Chat', {
      auth: ChatAuth.hs256({ secret, issuer: 'https://auth.example.com/' }),
      customDomain: { domainName: 'chat.example.com', hostedZone: zone },
      alarmActions: [new SnsAction(topic)],
      cloudWatchRole: true,
    });
  });
  expect(findings).toEqual([]);
});

test('the construct has no unacknowledged AwsSolutions findings (JWKS, certificate given)', () => {
  const findings = nagFindings((stack) => {
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc');
    new WebSocketChat(stack, 'Chat', {
      auth: ChatAuth.jwks({ jwksUrl: 'https://auth.example.com/.well-known/jwks.json', issuer: 'https://auth.example.com/' }),
      customDomain: { domainName: 'chat.example.com', certificate },
    });
  });
  expect(findings).toEqual([]);
});

test('the construct has no unacknowledged AwsSolutions findings (tracing, VPC, customer managed keys, dashboard, history off)', () => {
  const findings = nagFindings((stack) => {
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new WebSocketChat(stack, 'Chat', {
      auth: ChatAuth.jwks({ jwksUrl: 'https://auth.example.com/.well-known/jwks.json', issuer: 'https://auth.example.com/' }),
      history: false,
      encryptionKey: key,
      dashboard: true,
      handlerOptions: { tracing: lambda.Tracing.ACTIVE, vpc, environmentEncryption: key, loggingFormat: lambda.LoggingFormat.JSON },
      fanoutHandlerOptions: { reservedConcurrentExecutions: 100 },
    });
  });
  // The app's VPC (flow logs) is the app's business; everything under the chat is ours.
  expect(findings.filter((f) => f.includes('/NagStack/Chat/'))).toEqual([]);
});

test('routes added with addRoute, or directly on the exposed API, carry their APIG4 acknowledgement', () => {
  const findings = nagFindings((stack) => {
    const secret = new secretsmanager.Secret(stack, 'JwtSecret');
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test fixture: the app owns its key rotation.' });
    const chat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.hs256({ secret }) });
    const query = new lambda.Function(stack, 'Query', {
      runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    chat.addRoute('query', query);
    chat.webSocketApi.addRoute('direct', { integration: new WebSocketLambdaIntegration('DirectIntegration', query) });
  });
  // The app's own function (its managed basic-execution policy) is the app's business; the route is ours.
  expect(findings.filter((f) => f.includes('APIG4'))).toEqual([]);
});

test('the check itself fails on a real finding', () => {
  const findings = nagFindings((stack) => {
    new secretsmanager.Secret(stack, 'Unrotated');
  });
  expect(findings.join('\n')).toMatch(/AwsSolutions-SMG4/);
});
