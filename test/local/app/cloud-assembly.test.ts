import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Stack, Stage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { FIXTURES, removeSynthesizedApps, synth } from './synth';
import { assemblyDirectory, constructPaths, readAssets, readStacks, readTemplate } from '../../../src/local/app/cloud-assembly';
import { AppLoadError } from '../../../src/local/app/errors';

/** Reading a cloud assembly as `cdk synth` writes it: stacks (nested stages too), templates, assets, construct paths. */

afterAll(removeSynthesizedApps);

const assembly = synth((app) => {
  const stack = new Stack(app, 'Top', { stackName: 'top-stack' });
  new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(FIXTURES, 'query-handler')),
  });
  const stage = new Stage(app, 'Prod');
  new Stack(stage, 'Inner');
});

test('lists the stacks, those of nested assemblies (stages) included, with their names', () => {
  const stacks = readStacks(assembly.outdir);
  const byName = (name: string) => stacks.find((s) => s.displayName === name)!;
  expect(stacks.map((s) => s.displayName).sort()).toEqual(['Prod/Inner', 'Top']);
  expect(byName('Top')).toMatchObject({ artifactId: 'Top', stackName: 'top-stack', assemblyDir: assembly.outdir });
  expect(byName('Prod/Inner')).toMatchObject({ stackName: 'Prod-Inner', assemblyDir: path.join(assembly.outdir, 'assembly-Prod') });
});

test("reads a stack's template, its file assets (source directory, object keys, construct path) and logical IDs' construct paths", () => {
  const top = readStacks(assembly.outdir).find((s) => s.displayName === 'Top')!;
  const template = readTemplate(top);
  const fnId = Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::Lambda::Function')!;
  const code = template.Resources[fnId].Properties!.Code as { S3Key: string };
  const { files } = readAssets(top);
  const asset = files.find((f) => f.objectKeys.includes(code.S3Key))!;
  expect(asset).toMatchObject({ packaging: 'zip', displayName: 'Fn/Code' });
  expect(asset.sourcePath!.startsWith(path.join(assembly.outdir, 'asset.'))).toBe(true);
  expect(constructPaths(top).get(fnId)).toBe('Fn/Resource');
});

test('takes the app directory for its cdk.out', () => {
  expect(assemblyDirectory(assembly.appDir)).toBe(assembly.outdir);
  expect(assemblyDirectory(assembly.outdir)).toBe(assembly.outdir);
});

test('a directory that is not a cloud assembly, or none at all, is a clear error', () => {
  const empty = path.join(assembly.appDir, 'empty');
  mkdirSync(empty);
  expect(() => readStacks(empty)).toThrow(AppLoadError);
  expect(() => readStacks(empty)).toThrow(/not a cloud assembly \(no manifest\.json\)\. Run `cdk synth`/);
  expect(() => readStacks(path.join(assembly.appDir, 'nowhere'))).toThrow(/no such directory/);
  const broken = path.join(assembly.appDir, 'broken');
  mkdirSync(broken);
  writeFileSync(path.join(broken, 'manifest.json'), '{ not json');
  expect(() => readStacks(broken)).toThrow(/manifest\.json is not valid JSON/);
});
