import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { ChatAuth, WebSocketChat } from 'cdk-websocket-chat';
import type { Construct } from 'constructs';

export interface ChatStackProps extends StackProps {
  /** The chat's domain name, e.g. `chat.example.com`. */
  readonly domainName: string;
  /** The Route 53 hosted zone that serves `domainName`. */
  readonly hostedZoneId: string;
  /** The name of that hosted zone, e.g. `example.com`. */
  readonly zoneName: string;
  /** An email address subscribed to the alarm topic (it must confirm the subscription). */
  readonly alarmEmail?: string;
}

/**
 * A chat backend on `wss://{domainName}`: HS256 tokens signed with a key kept in Secrets Manager, a DNS-validated
 * certificate and alias record in the hosted zone, every alarm notifying an SNS topic, and a CloudWatch dashboard.
 */
export class ChatStack extends Stack {
  public readonly chat: WebSocketChat;
  public readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ChatStackProps) {
    super(scope, id, props);

    // Your token issuer signs with this key; the authorizer reads it from Secrets Manager.
    const secret = new secretsmanager.Secret(this, 'ChatJwtKey', {
      description: 'HS256 key that signs the chat tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });

    this.alarmTopic = new sns.Topic(this, 'ChatAlarms', { enforceSSL: true });
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: props.hostedZoneId,
      zoneName: props.zoneName,
    });

    this.chat = new WebSocketChat(this, 'Chat', {
      auth: ChatAuth.hs256({ secret }),
      customDomain: { domainName: props.domainName, hostedZone },
      alarmActions: [new SnsAction(this.alarmTopic)],
      // Connections, messages, fan-out outcomes, latency, errors and throttles on one CloudWatch dashboard.
      dashboard: true,
    });

    new CfnOutput(this, 'ChatUrl', { value: this.chat.url });
    new CfnOutput(this, 'ManagementEndpoint', { value: this.chat.managementEndpoint });
    new CfnOutput(this, 'JwtKeySecretArn', { value: secret.secretArn });
  }
}
