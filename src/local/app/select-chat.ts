import { constructPaths, readStacks, readTemplate, type AssemblyStack } from './cloud-assembly';
import { AppLoadError } from './errors';
import { findChats, type ChatInTemplate } from './find-chat';
import type { CfnTemplate } from './template';

/**
 * Picks the chat to run from a cloud assembly: the only one, or the one `--stack` names. A selector matches a
 * stack's display name (`Prod/MyStack`), artifact id or CloudFormation name; when a stack holds several chats,
 * `STACK/CHAT` (the chat's construct path) picks one of them.
 */

export interface ChatCandidate {
  readonly stack: AssemblyStack;
  readonly template: CfnTemplate;
  readonly paths: ReadonlyMap<string, string>;
  readonly chat: ChatInTemplate;
  /** What `--stack` takes to pick it. */
  readonly selector: string;
}

export function selectChat(dir: string, selector?: string): ChatCandidate {
  const stacks = readStacks(dir);
  const candidates: ChatCandidate[] = [];
  for (const stack of stacks) {
    const template = readTemplate(stack);
    const paths = constructPaths(stack);
    const chats = findChats(template, paths);
    for (const chat of chats) {
      candidates.push({ stack, template, paths, chat, selector: chats.length > 1 ? `${stack.displayName}/${chat.label}` : stack.displayName });
    }
  }
  if (candidates.length === 0) {
    const names = stacks.map((s) => s.displayName).join(', ') || 'none';
    throw new AppLoadError(`no WebSocketChat found in ${dir} (stacks: ${names}). Synthesize an app that creates a WebSocketChat, or run without --app for the library's defaults.`);
  }
  candidates.sort((a, b) => a.selector.localeCompare(b.selector));
  const list = candidates.map((c) => `  --stack ${c.selector}`).join('\n');
  if (selector === undefined) {
    if (candidates.length === 1) return candidates[0];
    throw new AppLoadError(`${dir} has ${candidates.length} WebSocketChats; pick one with --stack:\n${list}`);
  }
  const matches = candidates.filter((c) => matchesSelector(c, selector));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    const hint = stacks.some((s) => [s.displayName, s.artifactId, s.stackName].includes(selector)) ? ` (stack ${selector} has no WebSocketChat)` : '';
    throw new AppLoadError(`--stack ${selector}: no such chat${hint}. The chats of ${dir}:\n${list}`);
  }
  throw new AppLoadError(`--stack ${selector}: that stack has ${matches.length} WebSocketChats; pick one:\n${matches.map((c) => `  --stack ${c.selector}`).join('\n')}`);
}

function matchesSelector(candidate: ChatCandidate, selector: string): boolean {
  const { stack, chat } = candidate;
  const stackNames = [stack.displayName, stack.artifactId, stack.stackName];
  if (stackNames.includes(selector)) return true;
  return stackNames.some((name) => selector === `${name}/${chat.label}` || selector === `${name}/${chat.apiId}`);
}
