#!/usr/bin/env node
/**
 * A consumer's CDK app, run with plain `node` in a folder where the packed cdk-websocket-chat was installed
 * next to aws-cdk-lib and constructs: synthesizes the README's usage example and asserts its main resources.
 */
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { App, CfnOutput, Stack } = require('aws-cdk-lib');
const { SnsAction } = require('aws-cdk-lib/aws-cloudwatch-actions');
const route53 = require('aws-cdk-lib/aws-route53');
const secretsmanager = require('aws-cdk-lib/aws-secretsmanager');
const sns = require('aws-cdk-lib/aws-sns');
const { ChatAuth, WebSocketChat } = require('cdk-websocket-chat');

const outdir = path.resolve('cdk.out');
fs.rmSync(outdir, { recursive: true, force: true });
const app = new App({ outdir });
const stack = new Stack(app, 'ChatConsumer', { env: { account: '123456789012', region: 'eu-west-1' } });

// The README's usage example.
const secret = new secretsmanager.Secret(stack, 'ChatJwtKey');
const topic = new sns.Topic(stack, 'ChatAlarms');
const hostedZone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
  hostedZoneId: 'Z0123456789EXAMPLE',
  zoneName: 'example.com',
});
const chat = new WebSocketChat(stack, 'Chat', {
  auth: ChatAuth.hs256({ secret }),
  customDomain: { domainName: 'chat.example.com', hostedZone },
  alarmActions: [new SnsAction(topic)],
});
new CfnOutput(stack, 'ChatUrl', { value: chat.url });
new CfnOutput(stack, 'ManagementEndpoint', { value: chat.managementEndpoint });

const assembly = app.synth();
const artifact = assembly.getStackByName('ChatConsumer');
const template = artifact.template;
const resources = Object.entries(template.Resources);
const ofType = (type) => resources.filter(([, r]) => r.Type === type);
const one = (type) => {
  const found = ofType(type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0];
};
const refTo = (id) => ({ Ref: id });
const checks = [];
const check = (name, fn) => { fn(); checks.push(name); };

check('WebSocket API, route selection on $request.body.action', () => {
  const [, api] = one('AWS::ApiGatewayV2::Api');
  assert.equal(api.Properties.ProtocolType, 'WEBSOCKET');
  assert.equal(api.Properties.RouteSelectionExpression, '$request.body.action');
});

check('9 routes; $connect behind the REQUEST authorizer', () => {
  const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
  assert.deepEqual(routes.map((r) => r.RouteKey).sort(),
    ['$connect', '$default', '$disconnect', 'history', 'join', 'leave', 'ping', 'presence', 'sendMessage']);
  const [authorizerId, authorizer] = one('AWS::ApiGatewayV2::Authorizer');
  assert.equal(authorizer.Properties.AuthorizerType, 'REQUEST');
  assert.deepEqual(authorizer.Properties.IdentitySource, ['route.request.querystring.token']);
  const connect = routes.find((r) => r.RouteKey === '$connect');
  assert.equal(connect.AuthorizationType, 'CUSTOM');
  assert.deepEqual(connect.AuthorizerId, refTo(authorizerId));
});

check('stage: auto-deployed, throttled, access logs', () => {
  const [, stage] = one('AWS::ApiGatewayV2::Stage');
  assert.equal(stage.Properties.StageName, 'dev');
  assert.equal(stage.Properties.AutoDeploy, true);
  assert.deepEqual(stage.Properties.DefaultRouteSettings.ThrottlingBurstLimit, 5000);
  assert.ok(stage.Properties.AccessLogSettings.DestinationArn);
});

check('connections table (connection_id + sk, 2 GSIs) and messages table (room_id + seq): TTL, PITR, on-demand', () => {
  const tables = ofType('AWS::DynamoDB::Table').map(([, t]) => t.Properties);
  assert.equal(tables.length, 2);
  const connections = tables.find((p) => p.KeySchema[0].AttributeName === 'connection_id');
  const messages = tables.find((p) => p.KeySchema[0].AttributeName === 'room_id');
  assert.deepEqual(connections.KeySchema, [{ AttributeName: 'connection_id', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
  assert.deepEqual(connections.GlobalSecondaryIndexes.map((g) => g.IndexName).sort(), ['room_id-index', 'user_id-index']);
  assert.deepEqual(messages.KeySchema, [{ AttributeName: 'room_id', KeyType: 'HASH' }, { AttributeName: 'seq', KeyType: 'RANGE' }]);
  for (const p of tables) {
    assert.deepEqual(p.TimeToLiveSpecification, { AttributeName: 'ttl', Enabled: true });
    assert.equal(p.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true);
    assert.equal(p.BillingMode, 'PAY_PER_REQUEST');
  }
});

check('12 functions whose code assets are in the cloud assembly, each one a shipped handler bundle', () => {
  const functions = ofType('AWS::Lambda::Function');
  assert.equal(functions.length, 12, `expected 12 functions, found ${functions.map(([id]) => id).join(', ')}`);
  const packageDir = path.dirname(require.resolve('cdk-websocket-chat/package.json'));
  const sha = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const shipped = new Map(fs.readdirSync(path.join(packageDir, 'assets', 'handlers'))
    .map((dir) => [sha(path.join(packageDir, 'assets', 'handlers', dir, 'index.js')), dir]));
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${artifact.stackName}.assets.json`), 'utf-8'));
  const used = new Set();
  for (const [id, fn] of functions) {
    const key = fn.Properties.Code.S3Key;
    assert.ok(typeof key === 'string' && key.endsWith('.zip'), `${id}: code is not a file asset`);
    const asset = manifest.files[key.replace(/\.zip$/, '')];
    assert.ok(asset, `${id}: asset ${key} is not in the asset manifest`);
    const entry = path.join(outdir, asset.source.path, 'index.js');
    assert.ok(fs.existsSync(entry), `${id}: ${entry} does not exist`);
    const bundle = shipped.get(sha(entry));
    assert.ok(bundle, `${id}: its index.js is none of the shipped handler bundles`);
    used.add(bundle);
    assert.equal(fn.Properties.Handler, 'index.handler');
  }
  assert.equal(used.size, 12, `the 12 functions use ${used.size} distinct bundles`);
});

check('alarms, every one with the SNS action', () => {
  const [topicId] = one('AWS::SNS::Topic');
  const alarms = ofType('AWS::CloudWatch::Alarm');
  assert.ok(alarms.length >= 5, `only ${alarms.length} alarms`);
  for (const [id, alarm] of alarms) assert.deepEqual(alarm.Properties.AlarmActions, [refTo(topicId)], id);
});

check('custom domain: DNS-validated certificate, REGIONAL TLS 1.2 domain, API mapping, alias record', () => {
  const [certId, cert] = one('AWS::CertificateManager::Certificate');
  assert.equal(cert.Properties.DomainName, 'chat.example.com');
  assert.equal(cert.Properties.ValidationMethod, 'DNS');
  const [domainId, domain] = one('AWS::ApiGatewayV2::DomainName');
  assert.equal(domain.Properties.DomainName, 'chat.example.com');
  assert.deepEqual(domain.Properties.DomainNameConfigurations, [{
    CertificateArn: refTo(certId), EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2',
  }]);
  const [, mapping] = one('AWS::ApiGatewayV2::ApiMapping');
  assert.deepEqual(mapping.Properties.DomainName, refTo(domainId));
  const [, record] = one('AWS::Route53::RecordSet');
  assert.equal(record.Properties.Type, 'A');
  assert.equal(record.Properties.Name, 'chat.example.com.');
  assert.equal(record.Properties.HostedZoneId, 'Z0123456789EXAMPLE');
  assert.ok(record.Properties.AliasTarget);
  assert.equal(template.Outputs.ChatUrl.Value, 'wss://chat.example.com');
});

console.log(`synthesized ${artifact.stackName} (${resources.length} resources) with the installed package:`);
for (const name of checks) console.log(`  ok  ${name}`);
