import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';
import { NagAcknowledgements } from './nag';
import { TABLE } from '../shared/contract';

/** What a chat's grants point at: its API and stage, its tables and its publish function (built or imported). */
export interface ChatGrantTargets {
  readonly scope: IConstruct;
  readonly apiId: string;
  readonly stageName: string;
  readonly connectionsTableArn: string;
  readonly messagesTableArn?: string;
  readonly publishFunctionArn?: string;
  /** The tables' customer managed key, if any. */
  readonly encryptionKey?: kms.IKey;
}

/** DynamoDB actions that only read. Every other action writes. */
const READ_ACTIONS = new Set(['GetItem', 'BatchGetItem', 'Query', 'DescribeTable']);

/**
 * The `grant*` methods of a chat, shared by `WebSocketChat` and what `WebSocketChat.fromAttributes` returns:
 * least privilege on ARNs (never `Scan`, never a wildcard action), scoped to this API, stage, tables and indexes.
 *
 * @internal
 */
export class ChatGrants {
  constructor(private readonly targets: ChatGrantTargets) {}

  /** `execute-api:ManageConnections` on `{api}/{stage}/{method}/@connections/*` for each method. */
  public connections(grantee: iam.IGrantable, methods: string[]): iam.Grant {
    const stack = Stack.of(this.targets.scope);
    const resourceArns = methods.map((method) => stack.formatArn({
      service: 'execute-api',
      resource: this.targets.apiId,
      resourceName: `${this.targets.stageName}/${method}/@connections/*`,
    }));
    NagAcknowledgements.connectionsWildcard(grantee, resourceArns);
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:ManageConnections'], resourceArns });
  }

  /** GetItem, BatchGetItem, DescribeTable and Query on the connections table, Query on its indexes. */
  public readConnections(grantee: iam.IGrantable): iam.Grant {
    return this.table(grantee, this.targets.connectionsTableArn, ['GetItem', 'BatchGetItem', 'Query', 'DescribeTable'], [
      TABLE.roomIndex,
      TABLE.userIndex,
    ]);
  }

  /** GetItem and Query on the messages table. */
  public readHistory(grantee: iam.IGrantable): iam.Grant {
    if (!this.targets.messagesTableArn) {
      throw new Error('grantReadHistory: this chat has no messages table (history is off, or messagesTableName was not given)');
    }
    return this.table(grantee, this.targets.messagesTableArn, ['GetItem', 'Query']);
  }

  /** `lambda:InvokeFunction` on the publish function (its unqualified ARN) only. */
  public publish(grantee: iam.IGrantable): iam.Grant {
    if (!this.targets.publishFunctionArn) {
      throw new Error('grantPublish: the publish function\'s ARN is not known (publishFunctionArn was not given)');
    }
    return this.invoke(grantee, this.targets.publishFunctionArn);
  }

  /** `lambda:InvokeFunction` on one function ARN. */
  public invoke(grantee: iam.IGrantable, functionArn: string): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['lambda:InvokeFunction'], resourceArns: [functionArn] });
  }

  /**
   * `actions` (DynamoDB action names without the prefix) on a table, `Query` on the named indexes, and with a
   * customer managed key the KMS actions DynamoDB needs.
   */
  public table(grantee: iam.IGrantable, tableArn: string, actions: readonly string[], queryIndexes: readonly string[] = []): iam.Grant {
    let grant = actions.length > 0
      ? iam.Grant.addToPrincipal({ grantee, actions: actions.map((a) => `dynamodb:${a}`), resourceArns: [tableArn] })
      : undefined;
    if (queryIndexes.length > 0) {
      const indexGrant = iam.Grant.addToPrincipal({
        grantee,
        actions: ['dynamodb:Query'],
        resourceArns: queryIndexes.map((index) => `${tableArn}/index/${index}`),
      });
      grant = grant ? grant.combine(indexGrant) : indexGrant;
    }
    const key = this.targets.encryptionKey;
    if (key && grant) {
      const writes = actions.some((a) => !READ_ACTIONS.has(a));
      const keyActions = ['kms:Decrypt', 'kms:DescribeKey', ...(writes ? ['kms:Encrypt', 'kms:GenerateDataKey'] : [])];
      grant = grant.combine(iam.Grant.addToPrincipal({ grantee, actions: keyActions, resourceArns: [key.keyArn] }));
    }
    if (!grant) throw new Error('ChatGrants.table: nothing to grant');
    return grant;
  }
}
