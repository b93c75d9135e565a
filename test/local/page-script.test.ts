import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { PAGE_DIR, readPageAssets } from '../support/page-assets';

/**
 * The chat page's script is plain browser JavaScript (`app.js`, `view.js`) with `// @ts-check` and JSDoc types, over the
 * client library (packages/client/src), bundled into one file by scripts/page-script.cjs: here the sources are
 * type-checked against the DOM library together with the client, and the served bundle is kept free of HTML-injection
 * sinks and of anything a strict CSP refuses.
 */

const SOURCES = ['app.js', 'view.js'];

test('app.js and view.js type-check with the client library (checkJs, strict, DOM + ES2022)', () => {
  const program = ts.createProgram(SOURCES.map((name) => path.join(PAGE_DIR, name)), {
    allowJs: true,
    checkJs: true,
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: [],
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    return `${where ? `${path.relative(PAGE_DIR, d.file!.fileName)}:${where.line + 1}:${where.character + 1} ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  expect(problems).toEqual([]);
});

test('the page renders with textContent only: no HTML sinks, no eval, in its sources or in the served bundle', () => {
  const { js } = readPageAssets();
  const sources = SOURCES.map((name) => readFileSync(path.join(PAGE_DIR, name), 'utf8'));
  for (const source of sources) expect(source.startsWith('// @ts-check')).toBe(true);
  expect(sources.join('\n')).toContain('.textContent = ');
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'setAttribute(\'on']) {
    expect([sink, js.includes(sink)]).toEqual([sink, false]);
  }
});

test('the served script is one classic script with the client inside: no imports left, no module syntax', () => {
  const { js, html } = readPageAssets();
  expect(js).toContain('var ChatClient = class');
  expect(js).not.toMatch(/^\s*(import|export)\s/m);
  expect(js).not.toContain('require(');
  // The page loads it as a deferred classic script from its own origin (CSP script-src 'self'): no inline script.
  expect(html).toContain('<script src="app.js" defer></script>');
  expect(html.match(/<script/g)).toHaveLength(1);
  // Deterministic, so the CLI bundle serves exactly these bytes (test/local/cli.test.ts).
  expect(readPageAssets().js).toBe(js);
});
