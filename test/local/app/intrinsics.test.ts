import { resolveText, resolveValue, type Piece, type ResolveScope } from '../../../src/local/app/intrinsics';
import type { CfnTemplate } from '../../../src/local/app/template';

/** Resolving intrinsic values onto the local gateway: literals, placeholders, pseudo parameters, what cannot be. */

const template: CfnTemplate = {
  Resources: {
    Api: { Type: 'AWS::ApiGatewayV2::Api' },
    Table: { Type: 'AWS::DynamoDB::Table' },
    Worker: { Type: 'AWS::Lambda::Function' },
    Bucket: { Type: 'AWS::S3::Bucket' },
  },
  Parameters: {
    Greeting: { Type: 'String', Default: 'hello' },
    Required: { Type: 'String' },
    FromSsm: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/my/param' },
  },
};

const scope: ResolveScope = {
  template,
  stackName: 'MyStack',
  region: 'us-east-1',
  resource(logicalId, attribute): Piece | undefined {
    if (logicalId === 'Api' && !attribute) return { kind: 'api' };
    if (logicalId === 'Table' && !attribute) return { kind: 'local', value: { local: 'connectionsTable' }, text: 'local-table' };
    if (logicalId === 'Worker' && !attribute) return { kind: 'local', value: { localFunction: 'Worker' }, text: 'Worker' };
    if (logicalId === 'Worker' && attribute === 'Arn') {
      return { kind: 'local', value: { localFunction: 'Worker' }, text: 'arn:aws:lambda:us-east-1:000000000000:function:Worker' };
    }
    return undefined;
  },
};

const resolve = (value: unknown) => resolveValue(value, scope, 'dev');

test('literals stay literals (numbers and booleans as strings)', () => {
  expect(resolve('plain')).toEqual({ value: 'plain' });
  expect(resolve(42)).toEqual({ value: '42' });
  expect(resolve(true)).toEqual({ value: 'true' });
  expect(resolve({ 'Fn::Join': ['', []] })).toEqual({ value: '' });
});

test("a whole Ref to one of the chat's resources is its placeholder; a function is a local function", () => {
  expect(resolve({ Ref: 'Table' })).toEqual({ value: { local: 'connectionsTable' } });
  expect(resolve({ Ref: 'Worker' })).toEqual({ value: { localFunction: 'Worker' } });
  expect(resolve({ 'Fn::GetAtt': ['Worker', 'Arn'] })).toEqual({ value: { localFunction: 'Worker' } });
  expect(resolve({ 'Fn::GetAtt': 'Worker.Arn' })).toEqual({ value: { localFunction: 'Worker' } });
});

test('pseudo parameters: the region is the gateway\'s; account, partition, URL suffix and stack name are local values', () => {
  expect(resolve({ Ref: 'AWS::Region' })).toEqual({ value: { local: 'region' } });
  expect(resolve({ 'Fn::Join': [':', [{ Ref: 'AWS::Partition' }, { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }]] })).toEqual({ value: 'aws:us-east-1:000000000000' });
  expect(resolve({ 'Fn::Sub': '${AWS::StackName}.${AWS::URLSuffix}' })).toEqual({ value: 'MyStack.amazonaws.com' });
  expect(resolve({ Ref: 'AWS::NoValue' })).toEqual({ noValue: true });
});

test('the management endpoint built from the API and the stage is the gateway\'s', () => {
  const endpoint = { 'Fn::Join': ['', ['https://', { Ref: 'Api' }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/dev']] };
  expect(resolve(endpoint)).toEqual({ value: { local: 'managementEndpoint' } });
  expect(resolve({ 'Fn::Sub': ['https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev', {}] })).toEqual({ value: { local: 'managementEndpoint' } });
  // Another stage, or the wss:// URL, is not the management endpoint.
  expect(resolve({ 'Fn::Join': ['', ['https://', { Ref: 'Api' }, '.execute-api.eu-west-1.amazonaws.com/prod']] })).toHaveProperty('unresolved');
  expect(resolve({ 'Fn::Join': ['', ['wss://', { Ref: 'Api' }, '.execute-api.eu-west-1.amazonaws.com/dev']] })).toHaveProperty('unresolved');
});

test('placeholders with a local spelling may be part of a longer string', () => {
  expect(resolve({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Worker', 'Arn'] }, ':live']] })).toEqual({ value: 'arn:aws:lambda:us-east-1:000000000000:function:Worker:live' });
  expect(resolve({ 'Fn::Sub': ['${T}/index', { T: { Ref: 'Table' } }] })).toEqual({ value: 'local-table/index' });
});

test('Fn::Select over Fn::Split, and escaped ${!…} in Fn::Sub', () => {
  expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] })).toEqual({ value: 'b' });
  expect(resolve({ 'Fn::Select': ['0', ['x', 'y']] })).toEqual({ value: 'x' });
  expect(resolve({ 'Fn::Sub': 'literal ${!NotAVariable}' })).toEqual({ value: 'literal ${NotAVariable}' });
});

test('a stack parameter resolves to its default; one without a default, or backed by SSM, does not', () => {
  expect(resolve({ Ref: 'Greeting' })).toEqual({ value: 'hello' });
  expect(resolve({ Ref: 'Required' })).toEqual({ unresolved: 'Ref Required (a stack parameter without a default)' });
  expect(resolve({ Ref: 'FromSsm' })).toHaveProperty('unresolved');
});

test('what the gateway cannot know is unresolved, saying what it is', () => {
  expect(resolve({ Ref: 'Bucket' })).toEqual({ unresolved: 'Ref Bucket (AWS::S3::Bucket)' });
  expect(resolve({ 'Fn::GetAtt': ['Table', 'StreamArn'] })).toEqual({ unresolved: 'Fn::GetAtt Table.StreamArn (AWS::DynamoDB::Table)' });
  expect(resolve({ Ref: 'Elsewhere' })).toEqual({ unresolved: 'Ref Elsewhere (not in this stack)' });
  expect(resolve({ 'Fn::ImportValue': 'SharedUrl' })).toEqual({ unresolved: 'Fn::ImportValue SharedUrl (an export of another stack)' });
  expect(resolve({ 'Fn::If': ['Cond', 'a', 'b'] })).toEqual({ unresolved: '{"Fn::If":["Cond","a","b"]}' });
  // A reference inside a longer string names the whole value and the part that cannot be resolved.
  const joined = resolve({ 'Fn::Join': ['', ['s3://', { Ref: 'Bucket' }, '/key']] });
  expect('unresolved' in joined && joined.unresolved).toMatch(/^\{"Fn::Join".*\(it holds Ref Bucket \(AWS::S3::Bucket\)\)$/);
  // The API id alone has no local meaning (only as part of the management endpoint).
  expect(resolve({ Ref: 'Api' })).toHaveProperty('unresolved');
});

test('resolveText gives a literal or nothing', () => {
  expect(resolveText({ 'Fn::Join': ['-', ['a', 'b']] }, scope)).toBe('a-b');
  expect(resolveText({ Ref: 'Table' }, scope)).toBeUndefined();
  expect(resolveText({ Ref: 'Bucket' }, scope)).toBeUndefined();
});
