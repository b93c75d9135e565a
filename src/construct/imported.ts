import { Stack, Token } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';
import { ChatGrants } from './grants';

/** A chat backend: a `WebSocketChat` of this app, or one imported with `WebSocketChat.fromAttributes`. */
export interface IWebSocketChat extends IConstruct {
  /** The WebSocket API's id. */
  readonly apiId: string;

  /** The stage's name. */
  readonly stageName: string;

  /** `wss://` URL clients connect to (the custom domain when there is one). */
  readonly url: string;

  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}`: where posts to connections go. */
  readonly managementEndpoint: string;

  /**
   * Permits `grantee` to POST to, GET and DELETE connections of this stage
   * (`execute-api:ManageConnections` on `{api}/{stage}/{POST|GET|DELETE}/@connections/*`).
   */
  grantManageConnections(grantee: iam.IGrantable): iam.Grant;

  /** Permits `grantee` to POST to connections of this stage (`execute-api:ManageConnections` on `POST` only). */
  grantPostToConnections(grantee: iam.IGrantable): iam.Grant;

  /**
   * Permits `grantee` to read the connections table: `GetItem`, `BatchGetItem`, `DescribeTable` and `Query` on the
   * table, `Query` on its room and user indexes (never `Scan`).
   */
  grantReadConnections(grantee: iam.IGrantable): iam.Grant;

  /** Permits `grantee` to read the rooms' history: `GetItem` and `Query` on the messages table. */
  grantReadHistory(grantee: iam.IGrantable): iam.Grant;

  /** Permits `grantee` to push events through the publish function: `lambda:InvokeFunction` on it only. */
  grantPublish(grantee: iam.IGrantable): iam.Grant;
}

/** What `WebSocketChat.fromAttributes` needs to know of a chat deployed elsewhere (e.g. another stack's outputs). */
export interface WebSocketChatAttributes {
  /** The WebSocket API's id. */
  readonly apiId: string;

  /** The stage's name. */
  readonly stageName: string;

  /** The connections table's name. */
  readonly connectionsTableName: string;

  /**
   * The messages table's name (history on).
   *
   * @default - no history: `grantReadHistory` throws
   */
  readonly messagesTableName?: string;

  /**
   * The publish function's ARN.
   *
   * @default - `grantPublish` throws
   */
  readonly publishFunctionArn?: string;

  /**
   * The custom domain clients connect to.
   *
   * @default - `url` is the execute-api URL of the stage
   */
  readonly customDomainName?: string;

  /**
   * The tables' customer managed KMS key, when they have one (the table grants then include it).
   *
   * @default - the tables use an AWS owned or AWS managed key
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A chat deployed elsewhere, known by its attributes: the same grants as a `WebSocketChat`, on ARNs built from them.
 *
 * @internal
 */
export class ImportedWebSocketChat extends Construct implements IWebSocketChat {
  public readonly apiId: string;
  public readonly stageName: string;
  public readonly url: string;
  public readonly managementEndpoint: string;
  private readonly grants: ChatGrants;

  constructor(scope: Construct, id: string, attrs: WebSocketChatAttributes) {
    super(scope, id);
    for (const [name, value] of [['apiId', attrs.apiId], ['stageName', attrs.stageName], ['connectionsTableName', attrs.connectionsTableName]]) {
      if (!Token.isUnresolved(value) && !value) throw new Error(`WebSocketChat.fromAttributes: ${name} is required`);
    }
    const stack = Stack.of(this);
    const host = `${attrs.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    this.apiId = attrs.apiId;
    this.stageName = attrs.stageName;
    this.managementEndpoint = `https://${host}/${attrs.stageName}`;
    this.url = attrs.customDomainName ? `wss://${attrs.customDomainName}` : `wss://${host}/${attrs.stageName}`;
    const tableArn = (name: string) => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: name });
    this.grants = new ChatGrants({
      scope: this,
      apiId: attrs.apiId,
      stageName: attrs.stageName,
      connectionsTableArn: tableArn(attrs.connectionsTableName),
      messagesTableArn: attrs.messagesTableName ? tableArn(attrs.messagesTableName) : undefined,
      publishFunctionArn: attrs.publishFunctionArn,
      encryptionKey: attrs.encryptionKey,
    });
  }

  public grantManageConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grants.connections(grantee, ['POST', 'GET', 'DELETE']);
  }

  public grantPostToConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grants.connections(grantee, ['POST']);
  }

  public grantReadConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readConnections(grantee);
  }

  public grantReadHistory(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readHistory(grantee);
  }

  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.grants.publish(grantee);
  }
}
