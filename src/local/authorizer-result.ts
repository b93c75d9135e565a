import type { AuthorizerContext } from './events';

/**
 * How API Gateway turns a Lambda REQUEST authorizer's outcome into a handshake decision, and the context
 * it passes on (`requestContext.authorizer` on every route of the connection).
 */

/** Largest authorizer context API Gateway accepts (README, "API Gateway limits this respects"). */
export const MAX_AUTHORIZER_CONTEXT_BYTES = 8 * 1024;

export type AuthorizerDecision =
  | { readonly allow: true; readonly authorizer: AuthorizerContext }
  | { readonly allow: false; readonly statusCode: 401 | 403 | 500; readonly reason: string };

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

/**
 * The decision when the authorizer threw: `Unauthorized` (the message API Gateway looks for) → 401, any
 * other error → 500.
 */
export function decideOnError(error: { message?: string }): AuthorizerDecision {
  if (error.message === 'Unauthorized') return { allow: false, statusCode: 401, reason: 'authorizer: Unauthorized' };
  return { allow: false, statusCode: 500, reason: `authorizer failed: ${error.message ?? 'unknown error'}` };
}

/**
 * The decision on an authorizer's result: a Deny statement matching `methodArn` → 403; an Allow statement
 * matching it → allowed; no matching statement → 403; a malformed result or context (objects or arrays as
 * values, over 8 KB) → 500, as API Gateway answers `AuthorizerConfigurationException`.
 */
export function decideOnResult(result: unknown, methodArn: string, integrationLatency: number): AuthorizerDecision {
  if (result === null || typeof result !== 'object') {
    return { allow: false, statusCode: 500, reason: 'authorizer returned no policy' };
  }
  const { principalId, policyDocument, context } = result as { principalId?: unknown; policyDocument?: unknown; context?: unknown };
  const statements = (policyDocument as { Statement?: unknown } | undefined)?.Statement;
  if (statements === undefined || (typeof statements !== 'object' || statements === null)) {
    return { allow: false, statusCode: 500, reason: 'authorizer result has no policyDocument.Statement' };
  }
  const list = (Array.isArray(statements) ? statements : [statements]) as Statement[];
  const matching = list.filter((s) => matchesAny(s.Action, 'execute-api:Invoke') && matchesAny(s.Resource, methodArn));
  if (matching.some((s) => s.Effect === 'Deny')) return { allow: false, statusCode: 403, reason: 'authorizer policy denies $connect' };
  if (!matching.some((s) => s.Effect === 'Allow')) {
    return { allow: false, statusCode: 403, reason: 'authorizer policy does not allow $connect' };
  }

  const authorizer: AuthorizerContext = {};
  if (context !== undefined && context !== null) {
    if (typeof context !== 'object' || Array.isArray(context)) {
      return { allow: false, statusCode: 500, reason: 'authorizer context is not an object' };
    }
    for (const [key, value] of Object.entries(context)) {
      if (value === undefined) continue;
      if (value === null) {
        authorizer[key] = null;
      } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        // API Gateway stringifies numbers and booleans.
        authorizer[key] = String(value);
      } else {
        return {
          allow: false,
          statusCode: 500,
          reason: `authorizer context value "${key}" is a ${Array.isArray(value) ? 'array' : typeof value}; only strings, numbers and booleans are allowed`,
        };
      }
    }
  }
  // The keys and values as given (the authorizer checks its own rooms claim the same way: unescaped bytes).
  const size = Object.entries(authorizer).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(String(value)), 0);
  if (size > MAX_AUTHORIZER_CONTEXT_BYTES) {
    return { allow: false, statusCode: 500, reason: `authorizer context is ${size} bytes (limit ${MAX_AUTHORIZER_CONTEXT_BYTES})` };
  }
  if (principalId !== undefined && principalId !== null) authorizer.principalId = String(principalId);
  authorizer.integrationLatency = integrationLatency;
  return { allow: true, authorizer };
}

function matchesAny(patterns: unknown, value: string): boolean {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  return list.some((p) => typeof p === 'string' && wildcardMatch(p, value));
}

/** IAM-style matching: `*` any run of characters, `?` any one character, case-sensitive. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}
