import { appendFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Figures of the reliability scenarios, for RELIABILITY.md. When `RELIABILITY_DIR` is set (by
 * `npx projen reliability`), a test records what it measured — deliveries, retries, rows deleted, time to the last
 * delivery — as one JSON line; otherwise this does nothing. The test's own assertions stay the judge: a figure is
 * recorded only on the way to them, and the report says which tests passed.
 */
export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  const dir = process.env.RELIABILITY_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const state = expect.getState();
  const line = { scenario, test: state.currentTestName, file: path.relative(process.cwd(), state.testPath ?? ''), figures };
  appendFileSync(path.join(dir, 'figures.jsonl'), `${JSON.stringify(line)}\n`);
}
