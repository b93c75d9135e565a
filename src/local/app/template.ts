/** The parts of a CloudFormation template the loader reads. */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnParameter {
  readonly Type?: string;
  readonly Default?: unknown;
}

export interface CfnTemplate {
  readonly Resources: Readonly<Record<string, CfnResource>>;
  readonly Parameters?: Readonly<Record<string, CfnParameter>>;
}

export const TYPES = {
  api: 'AWS::ApiGatewayV2::Api',
  route: 'AWS::ApiGatewayV2::Route',
  integration: 'AWS::ApiGatewayV2::Integration',
  authorizer: 'AWS::ApiGatewayV2::Authorizer',
  stage: 'AWS::ApiGatewayV2::Stage',
  function: 'AWS::Lambda::Function',
  alias: 'AWS::Lambda::Alias',
  version: 'AWS::Lambda::Version',
  table: 'AWS::DynamoDB::Table',
  secret: 'AWS::SecretsManager::Secret',
} as const;

/** A plain object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ Ref: id }` → id. */
export function refOf(value: unknown): string | undefined {
  return isObject(value) && Object.keys(value).length === 1 && typeof value.Ref === 'string' ? value.Ref : undefined;
}

/** `{ "Fn::GetAtt": [id, attr] }` or `{ "Fn::GetAtt": "id.attr" }` → [id, attr]. */
export function getAttOf(value: unknown): [string, string] | undefined {
  if (!isObject(value) || Object.keys(value).length !== 1) return undefined;
  const arg = value['Fn::GetAtt'];
  if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && typeof arg[1] === 'string') return [arg[0], arg[1]];
  if (typeof arg === 'string' && arg.includes('.')) {
    const dot = arg.indexOf('.');
    return [arg.slice(0, dot), arg.slice(dot + 1)];
  }
  return undefined;
}

/** The resources of one type, by logical ID. */
export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === type);
}

/** A property of a resource (undefined when absent). */
export function prop(resource: CfnResource | undefined, name: string): unknown {
  return resource?.Properties?.[name];
}
