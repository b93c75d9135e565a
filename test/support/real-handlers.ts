import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { REAL_HANDLERS } from './local-gateway';
import { handlerFile } from '../../src/local/default-app';
import { HANDLERS } from '../../src/shared/spec';

/** Every handler bundle (`assets/handlers/{bundle}.lambda`). */
const HANDLER_NAMES = HANDLERS.map((h) => h.bundle);

/** Fails early, with the fix, when the handler bundles are missing or still placeholders. */
export function assertRealBundles(): void {
  for (const name of HANDLER_NAMES) {
    let code: string;
    try {
      code = readFileSync(handlerFile(REAL_HANDLERS, name), 'utf8');
    } catch {
      throw new Error(`${handlerFile(REAL_HANDLERS, name)} is missing: run \`npx projen bundle\` first`);
    }
    if (code.length < 2000 && code.includes('not implemented')) {
      throw new Error(`${handlerFile(REAL_HANDLERS, name)} is a placeholder: run \`npx projen bundle\` after the handlers are written`);
    }
  }
}

/** An HS256 token signed with jose (independent of the gateway's own signer). */
export async function joseToken(secret: string, claims: Record<string, unknown>, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/**
 * A handlers directory with the real bundles (symlinked) except `send-message`, which throws on the message
 * `boom` and otherwise delegates to the real bundle: a handler failure in a real deployment's wiring.
 */
export function handlersWithThrowingSendMessage(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'chat-handlers-'));
  for (const name of HANDLER_NAMES) {
    if (name === 'send-message') continue;
    symlinkSync(path.join(REAL_HANDLERS, `${name}.lambda`), path.join(dir, `${name}.lambda`), 'dir');
  }
  mkdirSync(path.join(dir, 'send-message.lambda'));
  writeFileSync(
    path.join(dir, 'send-message.lambda', 'index.js'),
    `'use strict';
const real = require(${JSON.stringify(handlerFile(REAL_HANDLERS, 'send-message'))});
exports.handler = async (event, context) => {
  let body;
  try { body = JSON.parse(event.body); } catch { body = {}; }
  if (body && body.message === 'boom') throw new Error('boom');
  return real.handler(event, context);
};
`,
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
