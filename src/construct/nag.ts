import { Stack, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { Construct, type IConstruct } from 'constructs';

/**
 * cdk-nag (AwsSolutions) acknowledgements carried by the construct, through CDK's native
 * `Validations.of(x).acknowledge()`: no runtime dependency on cdk-nag. Each one names the rule, the
 * resource, and why the finding is deliberate.
 *
 * @internal
 */
export class NagAcknowledgements {
  /** APIG4 on every route under `scope` but `$connect`: API Gateway runs WebSocket authorizers on `$connect` only. */
  public static nonConnectRoutes(scope: IConstruct): void {
    for (const child of scope.node.findAll()) {
      if (child instanceof apigwv2.CfnRoute && child.routeKey !== '$connect') {
        Validations.of(child).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `Route ${child.routeKey}: API Gateway authorizes WebSocket APIs on $connect only; this route runs on a connection that the $connect authorizer admitted.`,
        });
      }
    }
  }

  /** IAM4 on API Gateway's account-level logging role: AWS's managed policy is the documented way to set it up. */
  public static apiGatewayLoggingRole(role: IConstruct): void {
    acknowledge(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'API Gateway account-level CloudWatch Logs role: the AWS managed policy is the one AWS documents for it, and it grants only log-group and log-stream writes.',
    );
  }

  /**
   * IAM5 on `execute-api:ManageConnections` for `{api}/{stage}/{method}/@connections/*`: connection ids are
   * minted at run time, so the ARN cannot name them; it is scoped to this API, stage and method.
   */
  public static connectionsWildcard(grantee: unknown, arns: string[]): void {
    const targets = [grantee, (grantee as { grantPrincipal?: unknown }).grantPrincipal].filter(
      (t): t is IConstruct => Construct.isConstruct(t),
    );
    for (const target of targets) {
      for (const arn of arns) {
        acknowledge(
          target,
          `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(target).resolve(arn))}]`,
          'Posting to WebSocket connections: connection ids are minted at run time, so the ARN ends in @connections/*; it is scoped to this API, stage and HTTP method.',
        );
      }
    }
  }
}

/**
 * Acknowledges a cdk-nag finding on `target`. A finding id that holds `::` more than once (`Resource::arn:<AWS::
 * Partition>…`) is rejected by `Validations.acknowledge()` as a malformed prefix, so it is recorded directly in
 * the metadata entry that `acknowledge()` writes and cdk-nag reads.
 */
function acknowledge(target: IConstruct, id: string, reason: string): void {
  if (id.split('::').length <= 2) {
    Validations.of(target).acknowledge({ id, reason });
  } else {
    target.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, { [id]: reason });
  }
}

/** The string cdk-nag uses for a resolved CloudFormation value in finding ids (its `flattenCfnReference`). */
function flattenCfnReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  const value = node as Record<string, any>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfnReference).join(delimiter);
  }
  if (value['Fn::Sub']) return flattenCfnReference(value['Fn::Sub']);
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
  }
  if (value['Fn::ImportValue']) return flattenCfnReference(value['Fn::ImportValue']);
  if (value.Ref) return `<${flattenCfnReference(value.Ref)}>`;
  return JSON.stringify(node);
}
