import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { ChatAuth, WebSocketChat, type ChatCustomDomainOptions } from '../src';
import { ENV } from './support/stack';

function domainStack(domain: (stack: Stack) => ChatCustomDomainOptions) {
  const stack = new Stack(new App(), 'S', { env: ENV });
  const chat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none(), customDomain: domain(stack) });
  return { stack, chat, template: Template.fromStack(stack) };
}

const zone = (stack: Stack) => route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z1', zoneName: 'example.com' });

describe('custom domain with a hosted zone and no certificate', () => {
  const { template, chat, stack } = domainStack((s) => ({ domainName: 'chat.example.com', hostedZone: zone(s) }));

  test('creates a DNS-validated certificate', () => {
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'chat.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'chat.example.com', HostedZoneId: 'Z1' }],
    });
  });

  test('REGIONAL endpoint with TLS 1.2', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'chat.example.com',
      DomainNameConfigurations: [Match.objectLike({ EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' })],
    });
  });

  test('maps the API stage to the domain', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      DomainName: { Ref: Match.stringLikeRegexp('DomainName') },
      ApiId: { Ref: Match.stringLikeRegexp('ChatApi') },
      Stage: 'dev',
    });
  });

  test('creates the alias record', () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'chat.example.com.',
      Type: 'A',
      HostedZoneId: 'Z1',
      AliasTarget: Match.objectLike({ DNSName: Match.anyValue() }),
    });
  });

  test('url uses the custom domain, managementEndpoint still the execute-api URL', () => {
    expect(chat.url).toBe('wss://chat.example.com');
    expect(JSON.stringify(stack.resolve(chat.managementEndpoint))).toContain('execute-api');
  });
});

describe('custom domain with a certificate and no zone', () => {
  const { template } = domainStack((s) => ({
    domainName: 'chat.example.com',
    certificate: acm.Certificate.fromCertificateArn(s, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc'),
  }));

  test('uses the certificate and creates no certificate or record', () => {
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainNameConfigurations: [Match.objectLike({ CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' })],
    });
  });
});

test('rejects a domain with neither certificate nor hosted zone', () => {
  expect(() => domainStack(() => ({ domainName: 'chat.example.com' }))).toThrow(/certificate, or a hostedZone/);
});

test('rejects a malformed domain name', () => {
  expect(() => domainStack((s) => ({ domainName: 'not a domain', hostedZone: zone(s) }))).toThrow(/fully qualified/);
});

test('a domain name given as a token (CfnParameter, SSM) passes synth', () => {
  const { template, chat, stack } = domainStack((s) => ({
    domainName: new CfnParameter(s, 'DomainName').valueAsString,
    hostedZone: zone(s),
  }));
  template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: { Ref: 'DomainName' } });
  template.hasResourceProperties('AWS::CertificateManager::Certificate', { DomainName: { Ref: 'DomainName' } });
  expect(stack.resolve(chat.url)).toEqual({ 'Fn::Join': ['', ['wss://', { Ref: 'DomainName' }]] });
});

test('a domain name from an SSM parameter passes synth', () => {
  expect(() => domainStack((s) => ({
    domainName: ssm.StringParameter.valueForStringParameter(s, '/chat/domain'),
    certificate: acm.Certificate.fromCertificateArn(s, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc'),
  }))).not.toThrow();
});
