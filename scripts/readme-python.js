#!/usr/bin/env node
/**
 * Keeps the README's Python examples the jsii-rosetta translations of its TypeScript examples.
 *
 * Every ```python block of README.md must be the Python translation of the ```ts block just before it, as
 * recorded in the tablet that `jsii-rosetta extract --strict .jsii` writes (.jsii.tabl.json). So it runs after
 * `npx projen compile` (the README reaches rosetta through the .jsii assembly) and after the extract.
 *
 *   node scripts/readme-python.js --check   fails when a Python block differs from the translation
 *   node scripts/readme-python.js --write   rewrites the Python blocks from the translations
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { LanguageTablet, TargetLanguage } = require('jsii-rosetta');

const ROOT = path.resolve(__dirname, '..');
const README = path.join(ROOT, 'README.md');
const TABLET = path.join(ROOT, '.jsii.tabl.json');

/** Fenced code blocks of a markdown file: language, body, and the line range of the body. */
function codeBlocks(lines) {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]);
    if (!open || open[1] === '') continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    if (end === lines.length) throw new Error(`README.md:${i + 1}: unterminated code block`);
    blocks.push({ language: open[1], start: i + 1, end, body: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

async function main(mode) {
  if (mode !== '--check' && mode !== '--write') {
    process.stderr.write('usage: node scripts/readme-python.js --check|--write\n');
    return 2;
  }
  if (!fs.existsSync(TABLET)) {
    process.stderr.write(`${TABLET} is missing: run \`npx projen compile\` and \`jsii-rosetta extract --strict .jsii\` first\n`);
    return 1;
  }
  const tablet = await LanguageTablet.fromFile(TABLET);
  const pythonBySource = new Map();
  for (const key of tablet.snippetKeys) {
    const snippet = tablet.tryGetSnippet(key);
    const python = snippet?.get(TargetLanguage.PYTHON);
    if (snippet && python) pythonBySource.set(snippet.originalSource.source.trim(), python.source.trim());
  }

  const lines = fs.readFileSync(README, 'utf-8').split('\n');
  const blocks = codeBlocks(lines);
  const problems = [];
  const replacements = [];
  let checked = 0;
  blocks.forEach((block, i) => {
    if (block.language !== 'python') return;
    const ts = blocks[i - 1];
    if (!ts || !['ts', 'typescript'].includes(ts.language)) {
      problems.push(`README.md:${block.start}: a \`\`\`python block must follow the \`\`\`ts block it translates`);
      return;
    }
    const translation = pythonBySource.get(ts.body.trim());
    if (translation === undefined) {
      problems.push(`README.md:${ts.start}: this TypeScript block is not in ${path.basename(TABLET)} (re-run the extract)`);
      return;
    }
    checked++;
    if (block.body.trim() !== translation) {
      problems.push(`README.md:${block.start + 1}: the Python block is not the rosetta translation of the TypeScript block at line ${ts.start + 1}`);
      replacements.push({ block, translation });
    }
  });

  if (mode === '--write') {
    for (const { block, translation } of replacements.reverse()) {
      lines.splice(block.start, block.end - block.start, ...translation.split('\n'));
    }
    fs.writeFileSync(README, lines.join('\n'));
    process.stdout.write(`README.md: ${replacements.length} of ${checked} Python block(s) rewritten from the rosetta translations\n`);
    return problems.length - replacements.length > 0 ? (process.stderr.write(problems.join('\n') + '\n'), 1) : 0;
  }
  if (problems.length > 0) {
    process.stderr.write(problems.join('\n') + '\n(run `npx projen rosetta:readme` to rewrite them)\n');
    return 1;
  }
  process.stdout.write(`README.md: ${checked} Python block(s) match the rosetta translations\n`);
  return 0;
}

main(process.argv[2]).then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
