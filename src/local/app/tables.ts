import { CONNECTIONS_TABLE, MESSAGES_TABLE, type KeyAttribute, type TableSpec } from '../../shared/spec';
import type { LocalTable } from '../app-model';
import { isObject, prop, type CfnResource, type CfnTemplate } from './template';

/**
 * The chat's tables as the gateway creates them: with the shared spec's schemas (the handlers this gateway runs
 * read those), named after the template's `TableName` or logical ID. The template's key schema and indexes are
 * held against the spec: a difference means the app was synthesized with another version of cdk-websocket-chat,
 * and is reported.
 */

export interface ChatTables {
  readonly tables: LocalTable[];
  /** Logical ID → the table's local name. */
  readonly names: Map<string, string>;
  readonly warnings: string[];
}

export function chatTables(template: CfnTemplate, connectionsTableId: string, messagesTableId: string | undefined): ChatTables {
  const tables: LocalTable[] = [];
  const names = new Map<string, string>();
  const warnings: string[] = [];
  for (const [logicalId, spec] of [[connectionsTableId, CONNECTIONS_TABLE], [messagesTableId, MESSAGES_TABLE]] as const) {
    if (logicalId === undefined) continue;
    const resource = template.Resources[logicalId];
    const tableName = prop(resource, 'TableName');
    const name = typeof tableName === 'string' ? tableName : logicalId;
    tables.push({ spec, name });
    names.set(logicalId, name);
    const differences = schemaDifferences(resource, spec);
    if (differences.length > 0) {
      warnings.push(
        `table ${logicalId} (${spec.id}): the template's ${differences.join('; ')} — the app was synthesized with another version of cdk-websocket-chat; the gateway creates the table as this version's handlers expect it`,
      );
    }
  }
  return { tables, names, warnings };
}

/** The key schema and indexes of a spec, as text (for comparisons and messages). */
export function describeKeys(partitionKey: KeyAttribute, sortKey?: KeyAttribute): string {
  return `${partitionKey.name} (${partitionKey.type})${sortKey ? ` + ${sortKey.name} (${sortKey.type})` : ''}`;
}

/** Where the template's table differs from the spec: key schema, indexes (names and keys). */
export function schemaDifferences(resource: CfnResource | undefined, spec: TableSpec): string[] {
  const types = new Map<string, string>();
  const definitions = prop(resource, 'AttributeDefinitions');
  for (const d of Array.isArray(definitions) ? definitions.filter(isObject) : []) types.set(String(d.AttributeName), String(d.AttributeType));
  const differences: string[] = [];
  const wanted = describeKeys(spec.partitionKey, spec.sortKey);
  const actual = keysOf(prop(resource, 'KeySchema'), types);
  if (actual !== wanted) differences.push(`key is ${actual || 'missing'}, the spec's is ${wanted}`);

  const indexes = new Map<string, string>();
  const gsis = prop(resource, 'GlobalSecondaryIndexes');
  for (const gsi of Array.isArray(gsis) ? gsis.filter(isObject) : []) {
    indexes.set(String(gsi.IndexName), `${keysOf(gsi.KeySchema, types)}${isObject(gsi.Projection) && gsi.Projection.ProjectionType !== 'ALL' ? ` projecting ${String(gsi.Projection.ProjectionType)}` : ''}`);
  }
  for (const index of spec.indexes) {
    const want = describeKeys(index.partitionKey, index.sortKey);
    const have = indexes.get(index.name);
    if (have === undefined) differences.push(`index ${index.name} is missing (the spec's: ${want})`);
    else if (have !== want) differences.push(`index ${index.name} is ${have}, the spec's is ${want}`);
    indexes.delete(index.name);
  }
  for (const name of indexes.keys()) differences.push(`index ${name} is not in the spec`);
  return differences;
}

function keysOf(keySchema: unknown, types: ReadonlyMap<string, string>): string {
  const keys = Array.isArray(keySchema) ? keySchema.filter(isObject) : [];
  const attribute = (keyType: string) => {
    const key = keys.find((k) => k.KeyType === keyType);
    return key ? { name: String(key.AttributeName), type: (types.get(String(key.AttributeName)) ?? '?') as 'S' } : undefined;
  };
  const hash = attribute('HASH');
  return hash ? describeKeys(hash, attribute('RANGE')) : '';
}
