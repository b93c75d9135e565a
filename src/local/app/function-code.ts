import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isDirectory, type AssetManifest } from './cloud-assembly';
import { AppLoadError } from './errors';
import { resolveText, type ResolveScope } from './intrinsics';
import { isObject, prop, type CfnResource } from './template';

/**
 * Where a function's code is, as the gateway runs it: a directory holding the handler's module. Node.js functions
 * run from a cloud assembly file asset (`Code.S3Key` → the asset manifest's entry published to that key → its
 * `source.path`; or the resource's `aws:asset:path` metadata) or from inline code (`Code.ZipFile`, written out as
 * `index.js`). Other runtimes, container images and assets built by a command on publish are refused, naming the
 * function.
 */

export interface FunctionCode {
  readonly codeDir: string;
  readonly handler: string;
  /** Lambda's `Runtime`, e.g. `nodejs22.x`. */
  readonly runtime: string;
}

/** `name`: how messages name the function, e.g. `Query (Query435140A1)`. */
export function functionCode(name: string, resource: CfnResource, assets: AssetManifest, assemblyDir: string, scope: ResolveScope): FunctionCode {
  const code = prop(resource, 'Code');
  const runtime = prop(resource, 'Runtime');
  if (prop(resource, 'PackageType') === 'Image' || (isObject(code) && code.ImageUri !== undefined)) {
    throw new AppLoadError(`function ${name} is a container image (Code.ImageUri): the local gateway runs Node.js functions from zip assets or inline code only`);
  }
  if (typeof runtime !== 'string' || !/^nodejs/.test(runtime)) {
    throw new AppLoadError(`function ${name} runs ${typeof runtime === 'string' ? runtime : 'an unknown runtime'}: the local gateway runs Node.js functions (nodejs*) only`);
  }
  const handler = typeof prop(resource, 'Handler') === 'string' ? (prop(resource, 'Handler') as string) : 'index.handler';
  if (!isObject(code)) throw new AppLoadError(`function ${name} has no Code`);

  let codeDir: string;
  if (code.ZipFile !== undefined) {
    const source = resolveText(code.ZipFile, scope);
    if (source === undefined) throw new AppLoadError(`function ${name}: its inline code (Code.ZipFile) is built from values only a deployment knows`);
    codeDir = writeInlineCode(source);
  } else {
    codeDir = assetDirectory(name, resource, code, assets, assemblyDir, scope);
  }
  const modulePath = handler.slice(0, handler.lastIndexOf('.'));
  if (!handler.includes('.') || !['.js', '.mjs', '.cjs'].some((ext) => existsSync(path.join(codeDir, modulePath + ext)))) {
    throw new AppLoadError(`function ${name}: its handler is ${handler}, but ${codeDir} has no ${modulePath}.js, .mjs or .cjs`);
  }
  return { codeDir, handler, runtime };
}

function assetDirectory(
  name: string,
  resource: CfnResource,
  code: Record<string, unknown>,
  assets: AssetManifest,
  assemblyDir: string,
  scope: ResolveScope,
): string {
  const key = resolveText(code.S3Key, scope);
  const asset = key === undefined ? undefined : assets.files.find((a) => a.objectKeys.includes(key) || key === `${a.id}.zip`);
  if (asset?.executable) {
    throw new AppLoadError(
      `function ${name}: its code asset is built by a command when it is published (${asset.executable.join(' ')}), e.g. a Docker build; the local gateway runs code that \`cdk synth\` wrote to cdk.out only`,
    );
  }
  // Without an asset manifest entry (e.g. the legacy synthesizer), the asset metadata `cdk synth` writes for SAM.
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  const source = asset?.sourcePath ?? (typeof metadataPath === 'string' ? path.resolve(assemblyDir, metadataPath) : undefined);
  if (source === undefined) {
    const where = key === undefined ? 'Code.S3Key' : `S3 key ${key}`;
    throw new AppLoadError(`function ${name}: its code (${where}) is not an asset of this cloud assembly; the local gateway runs code assets and inline code only`);
  }
  if (!existsSync(source)) throw new AppLoadError(`function ${name}: its code asset ${source} is missing; run \`cdk synth\` again`);
  if (!isDirectory(source)) {
    throw new AppLoadError(`function ${name}: its code asset ${source} is a file (e.g. a prebuilt .zip); the local gateway runs directory assets (lambda.Code.fromAsset(directory)) and inline code`);
  }
  return source;
}

/** Inline code goes to a directory named by its hash (so a restart reuses it), as `index.js` (what Lambda does). */
function writeInlineCode(source: string): string {
  const dir = path.join(tmpdir(), 'cdk-websocket-chat-inline', createHash('sha256').update(source).digest('hex').slice(0, 16));
  const file = path.join(dir, 'index.js');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, source);
  }
  return dir;
}
