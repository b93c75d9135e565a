import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { chatStack, queryFunction } from './chat-app';
import { removeSynthesizedApps, synth } from './synth';
import { loadCloudAssemblyApp } from '../../../src/local/app/load-app';

/**
 * Where a function's code comes from when the asset manifest says little: the `aws:asset:path` metadata (the legacy
 * synthesizer, SAM), and an asset built by a command on publish (refused).
 */

afterAll(removeSynthesizedApps);

function editJson(file: string, edit: (json: any) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 1));
}

/** A synthesized app with a `query` route, and the Query function's template entry and asset manifest entry. */
function appWithQuery(id: string) {
  const { outdir } = synth((app) => chatStack(app, id, {}, (stack, chat) => chat.addRoute('query', queryFunction(stack))));
  const templateFile = path.join(outdir, `${id}.template.json`);
  const assetsFile = path.join(outdir, `${id}.assets.json`);
  const template = JSON.parse(readFileSync(templateFile, 'utf8'));
  const queryId = Object.keys(template.Resources).find((logicalId) => logicalId.startsWith('Query') && template.Resources[logicalId].Type === 'AWS::Lambda::Function')!;
  const assetId = (template.Resources[queryId].Properties.Code.S3Key as string).replace(/\.zip$/, '');
  return { outdir, templateFile, assetsFile, queryId, assetId };
}

test('without an asset manifest entry, the aws:asset:path metadata points at the code', () => {
  const { outdir, templateFile, assetsFile, queryId, assetId } = appWithQuery('Legacy');
  const assetDir = readdirSync(outdir).find((name) => name === `asset.${assetId}`)!;
  editJson(assetsFile, (json) => delete json.files[assetId]);
  editJson(templateFile, (json) => {
    json.Resources[queryId].Metadata = { 'aws:asset:path': assetDir, 'aws:asset:property': 'Code' };
  });
  const app = loadCloudAssemblyApp(outdir);
  expect(app.functions.find((f) => f.name === queryId)?.codeDir).toBe(path.join(outdir, assetDir));
});

test('code that is not an asset of the assembly is a clear error', () => {
  const { outdir, assetsFile, assetId } = appWithQuery('NoAsset');
  editJson(assetsFile, (json) => delete json.files[assetId]);
  expect(() => loadCloudAssemblyApp(outdir)).toThrow(/^function Query \(Query[0-9A-F]+\): its code \(S3 key [0-9a-f]+\.zip\) is not an asset of this cloud assembly/);
});

test('an asset built by a command when it is published (e.g. a Docker build) is refused, naming the function', () => {
  const { outdir, assetsFile, assetId } = appWithQuery('Built');
  editJson(assetsFile, (json) => {
    json.files[assetId].source = { executable: ['docker', 'run', '--rm', 'builder'], packaging: 'zip' };
  });
  expect(() => loadCloudAssemblyApp(outdir)).toThrow(
    /^function Query \(Query[0-9A-F]+\): its code asset is built by a command when it is published \(docker run --rm builder\), e\.g\. a Docker build/,
  );
});

test('an asset directory removed since synth: run cdk synth again', () => {
  const { outdir, assetsFile, assetId } = appWithQuery('Gone');
  editJson(assetsFile, (json) => {
    json.files[assetId].source.path = 'asset.missing';
  });
  expect(() => loadCloudAssemblyApp(outdir)).toThrow(/its code asset .*asset\.missing is missing; run `cdk synth` again$/);
});
