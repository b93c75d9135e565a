import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ChatAuth, WebSocketChat } from '../src';
import { ENV } from '../src/shared/contract';
import { identitySources } from '../src/shared/spec';

function authorizerEnv(auth: (stack: Stack) => ChatAuth): Record<string, unknown> {
  const stack = new Stack(new App(), 'S');
  new WebSocketChat(stack, 'Chat', { auth: auth(stack) });
  const fns = Template.fromStack(stack).findResources('AWS::Lambda::Function', {
    Properties: { Description: 'WebSocketChat $connect JWT authorizer' },
  });
  return (Object.values(fns)[0] as any).Properties.Environment.Variables;
}

describe('ChatAuth.hs256', () => {
  test('passes the secret, claims and pinned defaults to the authorizer', () => {
    const env = authorizerEnv((stack) => ChatAuth.hs256({
      secret: new secretsmanager.Secret(stack, 'Key'),
      issuer: 'https://auth.example.com/',
      audience: ['chat', 'chat-admin'],
      roomsClaim: 'rooms',
    }));
    expect(env).toMatchObject({
      [ENV.authMode]: 'hs256',
      [ENV.authSecretArn]: { Ref: expect.stringMatching(/^Key/) },
      [ENV.authIssuer]: 'https://auth.example.com/',
      [ENV.authAudience]: 'chat,chat-admin',
      [ENV.userIdClaim]: 'sub',
      [ENV.roomsClaim]: 'rooms',
      [ENV.clockToleranceSeconds]: '5',
    });
  });

  test('grants the authorizer read access to the secret', () => {
    const stack = new Stack(new App(), 'S');
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.hs256({ secret: new secretsmanager.Secret(stack, 'Key') }) });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'] })]) },
    });
  });

  test('token lifetime and future iat checks are off by default', () => {
    const env = authorizerEnv((stack) => ChatAuth.hs256({ secret: new secretsmanager.Secret(stack, 'Key') }));
    expect(env[ENV.maxTokenLifetimeSeconds]).toBeUndefined();
    expect(env[ENV.rejectFutureIat]).toBeUndefined();
  });

  test('maxTokenLifetime and rejectFutureIssuedAt reach the authorizer', () => {
    const env = authorizerEnv((stack) => ChatAuth.hs256({
      secret: new secretsmanager.Secret(stack, 'Key'),
      maxTokenLifetime: Duration.hours(1),
      rejectFutureIssuedAt: true,
    }));
    expect(env).toMatchObject({ [ENV.maxTokenLifetimeSeconds]: '3600', [ENV.rejectFutureIat]: 'true' });
  });

  test('the authorizer\'s identity source is the spec\'s', () => {
    const stack = new Stack(new App(), 'S');
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.hs256({ secret: new secretsmanager.Secret(stack, 'Key') }) });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: identitySources('hs256') });
  });

  test('a JSON field of the secret can hold the key', () => {
    const env = authorizerEnv((stack) => ChatAuth.hs256({ secret: new secretsmanager.Secret(stack, 'Key'), secretField: 'jwtKey' }));
    expect(env[ENV.authSecretField]).toBe('jwtKey');
  });

  test('rejects a bad clock tolerance and an empty user-id claim', () => {
    const stack = new Stack();
    const secret = new secretsmanager.Secret(stack, 'Key');
    expect(() => ChatAuth.hs256({ secret, clockToleranceSeconds: -1 })).toThrow(/clockToleranceSeconds/);
    expect(() => ChatAuth.hs256({ secret, userIdClaim: ' ' })).toThrow(/userIdClaim/);
    expect(() => ChatAuth.hs256({ secret, audience: ['a,b'] })).toThrow(/commas/);
    expect(() => ChatAuth.hs256({ secret, maxTokenLifetime: Duration.millis(10) })).toThrow(/maxTokenLifetime/);
  });
});

describe('ChatAuth.jwks', () => {
  test('pins RS256 by default and passes the key set URL and issuer', () => {
    const env = authorizerEnv(() => ChatAuth.jwks({ jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/' }));
    expect(env).toMatchObject({
      [ENV.authMode]: 'jwks',
      [ENV.authJwksUrl]: 'https://idp.example.com/.well-known/jwks.json',
      [ENV.authIssuer]: 'https://idp.example.com/',
      [ENV.authAlgorithms]: 'RS256',
    });
    expect(env[ENV.authSecretArn]).toBeUndefined();
  });

  test('maxTokenLifetime works with a JWKS too', () => {
    const env = authorizerEnv(() => ChatAuth.jwks({
      jwksUrl: 'https://idp.example.com/jwks', issuer: 'https://idp.example.com/', maxTokenLifetime: Duration.minutes(15),
    }));
    expect(env[ENV.maxTokenLifetimeSeconds]).toBe('900');
  });

  test('accepts other asymmetric algorithms and a custom user claim', () => {
    const env = authorizerEnv(() => ChatAuth.jwks({
      jwksUrl: 'https://idp.example.com/jwks',
      issuer: 'https://idp.example.com/',
      algorithms: ['ES256', 'RS256'],
      userIdClaim: 'email',
    }));
    expect(env[ENV.authAlgorithms]).toBe('ES256,RS256');
    expect(env[ENV.userIdClaim]).toBe('email');
  });

  test.each([
    ['an http URL', { jwksUrl: 'http://idp.example.com/jwks' }, /https/],
    ['HMAC algorithms', { algorithms: ['HS256'] }, /unsupported algorithm/],
    ['alg none', { algorithms: ['none'] }, /unsupported algorithm/],
    ['an empty algorithm list', { algorithms: [] }, /at least one/],
  ])('rejects %s', (_name, override, message) => {
    expect(() => ChatAuth.jwks({ jwksUrl: 'https://idp.example.com/jwks', issuer: 'https://idp.example.com/', ...override })).toThrow(message);
  });
});

describe('ChatAuth.none', () => {
  test('sets demo mode and grants nothing', () => {
    const env = authorizerEnv(() => ChatAuth.none());
    expect(env[ENV.authMode]).toBe('none');
    expect(env[ENV.authSecretArn]).toBeUndefined();
  });
});
