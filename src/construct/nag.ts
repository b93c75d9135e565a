import { Aspects, Stack, Validations, type IAspect } from 'aws-cdk-lib';
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
  /**
   * APIG4 on every route under `scope` but `$connect`: API Gateway runs WebSocket authorizers on `$connect` only.
   * An Aspect, so it also reaches routes added later, through `addRoute` or directly on the exposed API.
   */
  public static nonConnectRoutes(scope: IConstruct): void {
    Aspects.of(scope).add(new NonConnectRouteAcknowledgement());
  }

  /** IAM5 on `Resource::*` of a role whose function traces with X-Ray: its two actions take no resource ARN. */
  public static xrayTracing(role: IConstruct): void {
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray tracing (handlerOptions.tracing): xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource is "*"; no other action of this role has a wildcard.',
    );
  }

  /** IAM4 on a handler role in a VPC: AWS's managed policy for Lambda network interfaces. */
  public static vpcAccess(role: IConstruct): void {
    acknowledge(
      role,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'Handler in a VPC (handlerOptions.vpc): Lambda needs to create and delete its network interfaces, which AWS grants through this managed policy (ENI actions take no resource ARN).',
    );
  }

  /** SQS3 on a queue that is itself the on-failure destination of an asynchronously invoked function. */
  public static deadLetterQueue(queue: IConstruct, functionName: string): void {
    acknowledge(
      queue,
      'AwsSolutions-SQS3',
      `This queue is the dead-letter queue (the on-failure destination of asynchronous invocations) of the ${functionName} function: it needs no dead-letter queue of its own.`,
    );
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

/** Acknowledges APIG4 on every `AWS::ApiGatewayV2::Route` it visits, except `$connect`. */
class NonConnectRouteAcknowledgement implements IAspect {
  public visit(node: IConstruct): void {
    if (node instanceof apigwv2.CfnRoute && node.routeKey !== '$connect') {
      Validations.of(node).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: `Route ${node.routeKey}: API Gateway authorizes WebSocket APIs on $connect only; this route runs on a connection that the $connect authorizer admitted.`,
      });
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
