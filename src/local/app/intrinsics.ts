import type { EnvValue, LocalValue } from '../app-model';
import { getAttOf, isObject, refOf, type CfnTemplate } from './template';

/**
 * Resolves CloudFormation intrinsic values (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`,
 * pseudo parameters) to what they mean on the local gateway: a literal, a placeholder for a value only the running
 * gateway knows, another local function — or nothing it can know (an import, another stack's resource), which the
 * caller reports.
 */

/** The account id of every local ARN. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_PARTITION = 'aws';
export const LOCAL_URL_SUFFIX = 'amazonaws.com';

/** One piece of a resolved value; a `Fn::Join` or `Fn::Sub` is a list of them. */
export type Piece =
  | { readonly kind: 'text'; readonly text: string }
  /** A value of the gateway (or a local function); `text` is its local spelling inside a longer string, if it has one. */
  | { readonly kind: 'local'; readonly value: Exclude<EnvValue, string>; readonly text?: string }
  /** The chat's API id: part of the management endpoint. */
  | { readonly kind: 'api' }
  /** `Ref: AWS::NoValue`: the property is left out. */
  | { readonly kind: 'noValue' }
  | { readonly kind: 'unresolved'; readonly what: string };

export interface ResolveScope {
  readonly template: CfnTemplate;
  readonly stackName: string;
  /** The region of local ARNs and of `AWS::Region` inside a longer string. */
  readonly region: string;
  /** What a `Ref` (no attribute) or `Fn::GetAtt` of one of the app's resources means locally, if anything. */
  readonly resource: (logicalId: string, attribute?: string) => Piece | undefined;
}

/** A resolved value: an environment value, left out (`AWS::NoValue`), or unresolved (with what it is). */
export type Resolved = { readonly value: EnvValue } | { readonly noValue: true } | { readonly unresolved: string };

/**
 * Resolves a whole value. `stageName` recognizes the management endpoint:
 * `https://{Ref Api}.execute-api.{region}.{urlSuffix}/{stage}` → `{ local: 'managementEndpoint' }`.
 */
export function resolveValue(value: unknown, scope: ResolveScope, stageName?: string): Resolved {
  const pieces = merge(resolvePieces(value, scope));
  if (pieces.length === 1 && pieces[0].kind === 'noValue') return { noValue: true };
  if (pieces.length === 0) return { value: '' };
  if (pieces.length === 1 && pieces[0].kind === 'local') return { value: pieces[0].value };
  // Inside a longer string, a gateway value is its local spelling (when it has one).
  const spelled = merge(pieces.map((p) => (p.kind === 'local' && p.text !== undefined ? text(p.text) : p)));
  if (spelled.every((p) => p.kind === 'text')) return { value: spelled.map((p) => (p.kind === 'text' ? p.text : '')).join('') };
  if (stageName !== undefined && isManagementEndpoint(spelled, stageName)) return { value: { local: 'managementEndpoint' } };
  const missing = spelled.find((p): p is Extract<Piece, { kind: 'unresolved' }> => p.kind === 'unresolved');
  if (missing) return { unresolved: spelled.length === 1 ? missing.what : `${describe(value)} (it holds ${missing.what})` };
  return { unresolved: `${describe(value)} (a value built from the chat's own resources that has no local equivalent)` };
}

/** Resolves to a literal string, or undefined. */
export function resolveText(value: unknown, scope: ResolveScope): string | undefined {
  const resolved = resolveValue(value, scope);
  return 'value' in resolved && typeof resolved.value === 'string' ? resolved.value : undefined;
}

function isManagementEndpoint(pieces: readonly Piece[], stageName: string): boolean {
  if (pieces.length !== 3) return false;
  const [scheme, api, rest] = pieces;
  return (
    scheme.kind === 'text' && scheme.text === 'https://' && api.kind === 'api' && rest.kind === 'text' &&
    new RegExp(`^\\.execute-api\\.[^/]+/${escapeRegExp(stageName)}/?$`).test(rest.text)
  );
}

function resolvePieces(value: unknown, scope: ResolveScope): Piece[] {
  if (typeof value === 'string') return [text(value)];
  if (typeof value === 'number' || typeof value === 'boolean') return [text(String(value))];
  if (!isObject(value) || Object.keys(value).length !== 1) return [unresolved(describe(value))];
  const ref = refOf(value);
  if (ref !== undefined) return [refPiece(ref, scope)];
  const getAtt = getAttOf(value);
  if (getAtt) return [scope.resource(getAtt[0], getAtt[1]) ?? unresolved(`Fn::GetAtt ${getAtt[0]}.${getAtt[1]}${typeSuffix(getAtt[0], scope)}`)];
  const [fn, arg] = Object.entries(value)[0];
  switch (fn) {
    case 'Fn::Join': {
      if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string') return [unresolved(describe(value))];
      const list = arg[1];
      if (!Array.isArray(list)) return [unresolved(describe(value))];
      const out: Piece[] = [];
      list.forEach((item, i) => {
        if (i > 0 && arg[0] !== '') out.push(text(arg[0]));
        out.push(...resolvePieces(item, scope));
      });
      return out;
    }
    case 'Fn::Sub':
      return resolveSub(arg, scope) ?? [unresolved(describe(value))];
    case 'Fn::Select': {
      if (!Array.isArray(arg) || arg.length !== 2) return [unresolved(describe(value))];
      const index = Number(resolveText(arg[0], scope));
      const list = resolveList(arg[1], scope);
      return list && Number.isInteger(index) && index >= 0 && index < list.length ? [text(list[index])] : [unresolved(describe(value))];
    }
    case 'Fn::ImportValue': {
      const name = resolveText(arg, scope);
      return [unresolved(`Fn::ImportValue ${name ?? describe(arg)} (an export of another stack)`)];
    }
    default:
      return [unresolved(describe(value))];
  }
}

function resolveList(value: unknown, scope: ResolveScope): string[] | undefined {
  if (Array.isArray(value)) {
    const items = value.map((item) => resolveText(item, scope));
    return items.every((i): i is string => i !== undefined) ? items : undefined;
  }
  if (isObject(value) && Array.isArray(value['Fn::Split'])) {
    const [delimiter, source] = value['Fn::Split'] as unknown[];
    const sourceText = resolveText(source, scope);
    return typeof delimiter === 'string' && sourceText !== undefined ? sourceText.split(delimiter) : undefined;
  }
  return undefined;
}

function resolveSub(arg: unknown, scope: ResolveScope): Piece[] | undefined {
  const [template, variables] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? [arg[0], arg[1] ?? {}] : [undefined, undefined];
  if (typeof template !== 'string' || !isObject(variables)) return undefined;
  const out: Piece[] = [];
  const pattern = /\$\{([^}]*)\}/g;
  let last = 0;
  for (let match = pattern.exec(template); match; match = pattern.exec(template)) {
    out.push(text(template.slice(last, match.index)));
    last = match.index + match[0].length;
    const name = match[1].trim();
    if (name.startsWith('!')) {
      out.push(text(`\${${name.slice(1)}}`));
    } else if (name in variables) {
      out.push(...resolvePieces(variables[name], scope));
    } else if (name.includes('.') && !name.startsWith('AWS::')) {
      const dot = name.indexOf('.');
      out.push(scope.resource(name.slice(0, dot), name.slice(dot + 1)) ?? unresolved(`Fn::GetAtt ${name}${typeSuffix(name.slice(0, dot), scope)}`));
    } else {
      out.push(refPiece(name, scope));
    }
  }
  out.push(text(template.slice(last)));
  return out;
}

function refPiece(name: string, scope: ResolveScope): Piece {
  const pseudo = pseudoParameter(name, scope);
  if (pseudo) return pseudo;
  const parameter = scope.template.Parameters?.[name];
  if (parameter) {
    // A parameter deploys with its default unless overridden; SSM-backed parameters hold a parameter *name*.
    if (parameter.Default !== undefined && !String(parameter.Type ?? '').startsWith('AWS::SSM::')) {
      return text(Array.isArray(parameter.Default) ? parameter.Default.join(',') : String(parameter.Default));
    }
    return unresolved(`Ref ${name} (a stack parameter without a default)`);
  }
  return scope.resource(name) ?? unresolved(`Ref ${name}${typeSuffix(name, scope)}`);
}

function pseudoParameter(name: string, scope: ResolveScope): Piece | undefined {
  const local = (value: LocalValue, spelling: string): Piece => ({ kind: 'local', value: { local: value }, text: spelling });
  switch (name) {
    case 'AWS::Region':
      return local('region', scope.region);
    case 'AWS::AccountId':
      return text(LOCAL_ACCOUNT);
    case 'AWS::Partition':
      return text(LOCAL_PARTITION);
    case 'AWS::URLSuffix':
      return text(LOCAL_URL_SUFFIX);
    case 'AWS::StackName':
      return text(scope.stackName);
    case 'AWS::StackId':
      return text(`arn:${LOCAL_PARTITION}:cloudformation:${scope.region}:${LOCAL_ACCOUNT}:stack/${scope.stackName}/local`);
    case 'AWS::NoValue':
      return { kind: 'noValue' };
    default:
      return name.startsWith('AWS::') ? unresolved(`Ref ${name}`) : undefined;
  }
}

function typeSuffix(logicalId: string, scope: ResolveScope): string {
  const type = scope.template.Resources[logicalId]?.Type;
  return type ? ` (${type})` : ' (not in this stack)';
}

function merge(pieces: readonly Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const piece of pieces) {
    const prev = out[out.length - 1];
    if (piece.kind === 'text' && piece.text === '') continue;
    if (piece.kind === 'text' && prev?.kind === 'text') out[out.length - 1] = text(prev.text + piece.text);
    else out.push(piece);
  }
  return out;
}

function text(value: string): Piece {
  return { kind: 'text', text: value };
}

function unresolved(what: string): Piece {
  return { kind: 'unresolved', what };
}

/** A short JSON rendering of a template value, for messages. */
export function describe(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 160 ? `${json.slice(0, 157)}...` : json;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
