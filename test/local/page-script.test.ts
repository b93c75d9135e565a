import * as path from 'node:path';
import * as ts from 'typescript';
import { PAGE_DIR, readPageAssets } from '../support/page-assets';

/**
 * The chat page's script is plain browser JavaScript (no build step) with `// @ts-check` and JSDoc types:
 * here it is type-checked against the DOM library, and kept free of HTML-injection sinks.
 */

test('app.js type-checks (checkJs, strict, DOM + ES2022)', () => {
  const file = path.join(PAGE_DIR, 'app.js');
  const program = ts.createProgram([file], {
    allowJs: true,
    checkJs: true,
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: [],
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    return `${where ? `app.js:${where.line + 1}:${where.character + 1} ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  expect(problems).toEqual([]);
});

test('app.js renders with textContent only: no HTML sinks, no eval', () => {
  const { js } = readPageAssets();
  expect(js.startsWith('// @ts-check')).toBe(true);
  expect(js).toContain('.textContent = ');
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'setAttribute(\'on']) {
    expect([sink, js.includes(sink)]).toEqual([sink, false]);
  }
});
