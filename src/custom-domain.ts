import { Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** A custom domain for the WebSocket API. */
export interface ChatCustomDomainOptions {
  /**
   * The domain name, e.g. `chat.example.com`. It may be a token (a `CfnParameter`, an SSM parameter value): it is
   * then checked by CloudFormation, not at synth.
   */
  readonly domainName: string;

  /**
   * The certificate for `domainName`, in the stack's region.
   *
   * @default - a DNS-validated certificate is created in `hostedZone` (which is then required)
   */
  readonly certificate?: acm.ICertificate;

  /**
   * The hosted zone that serves `domainName`. When given, an alias A record is created for the domain
   * (and the certificate is validated through it when none is given).
   *
   * @default - no DNS record is created; point the domain at the API yourself
   */
  readonly hostedZone?: route53.IHostedZone;
}

/** @internal */
export interface ChatDomainProps extends ChatCustomDomainOptions {
  readonly api: apigwv2.IWebSocketApi;
  readonly stage: apigwv2.IWebSocketStage;
}

const DOMAIN_PATTERN = /^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))+$/;

/**
 * REGIONAL custom domain with TLS 1.2, mapped to the stage; certificate and alias record as configured.
 *
 * @internal
 */
export class ChatDomain extends Construct {
  public readonly domainName: apigwv2.DomainName;
  public readonly certificate: acm.ICertificate;

  constructor(scope: Construct, id: string, props: ChatDomainProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.domainName) && !DOMAIN_PATTERN.test(props.domainName)) {
      throw new Error(`customDomain.domainName must be a fully qualified domain name, got "${props.domainName}"`);
    }
    if (!props.certificate && !props.hostedZone) {
      throw new Error('customDomain needs a certificate, or a hostedZone to create a DNS-validated certificate in');
    }

    this.certificate = props.certificate ?? new acm.Certificate(this, 'Certificate', {
      domainName: props.domainName,
      validation: acm.CertificateValidation.fromDns(props.hostedZone),
    });

    this.domainName = new apigwv2.DomainName(this, 'DomainName', {
      domainName: props.domainName,
      certificate: this.certificate,
      endpointType: apigwv2.EndpointType.REGIONAL,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });

    new apigwv2.ApiMapping(this, 'ApiMapping', {
      api: props.api,
      domainName: this.domainName,
      stage: props.stage,
    });

    if (props.hostedZone) {
      new route53.ARecord(this, 'AliasRecord', {
        zone: props.hostedZone,
        recordName: props.domainName,
        target: route53.RecordTarget.fromAlias(
          new targets.ApiGatewayv2DomainProperties(this.domainName.regionalDomainName, this.domainName.regionalHostedZoneId),
        ),
      });
    }
  }
}
