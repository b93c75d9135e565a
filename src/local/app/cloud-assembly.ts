import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { AppLoadError } from './errors';
import { isObject, type CfnTemplate } from './template';

/**
 * Reads a cloud assembly (`cdk synth`'s output, `cdk.out`): its `manifest.json`, the stacks it lists (and those of
 * nested assemblies, e.g. CDK Pipelines stages), each stack's template, asset manifests and construct paths.
 */

/** One stack of the assembly. */
export interface AssemblyStack {
  /** The artifact id, e.g. `MyStack` (`Prod-MyStack` inside a stage). */
  readonly artifactId: string;
  /** The CloudFormation stack name. */
  readonly stackName: string;
  /** How `cdk list` shows it, e.g. `Prod/MyStack`. */
  readonly displayName: string;
  /** Directory of the (nested) assembly that holds it: relative paths in its manifests start here. */
  readonly assemblyDir: string;
  readonly templateFile: string;
  /** Its asset manifests (`*.assets.json`). */
  readonly assetManifestFiles: readonly string[];
  /** Its metadata: construct path → entries (inline in the manifest, or in `additionalMetadataFile`). */
  readonly metadata: Readonly<Record<string, readonly MetadataEntry[]>>;
}

export interface MetadataEntry {
  readonly type: string;
  readonly data?: unknown;
}

/** A file asset of an asset manifest. */
export interface FileAsset {
  readonly id: string;
  /** Absolute path of its source (a directory, or a file such as a `.zip`); undefined for a built asset. */
  readonly sourcePath?: string;
  /** Its packaging: `zip` (a directory zipped on publish) or `file`. */
  readonly packaging?: string;
  /** A command that builds the asset on publish (e.g. a Docker build); the gateway cannot run such an asset. */
  readonly executable?: readonly string[];
  /** The S3 object keys it is published to. */
  readonly objectKeys: readonly string[];
  /** The construct path it belongs to, e.g. `Chat/Authorizer/Code`. */
  readonly displayName?: string;
}

/** A container image asset (a function with `Code.ImageUri`). */
export interface ImageAsset {
  readonly id: string;
  readonly imageTags: readonly string[];
  readonly displayName?: string;
}

export interface AssetManifest {
  readonly files: readonly FileAsset[];
  readonly images: readonly ImageAsset[];
}

/**
 * The directory of the cloud assembly: `dir` itself when it holds a `manifest.json`, or its `cdk.out` (so the
 * app's own directory works too).
 */
export function assemblyDirectory(dir: string): string {
  const resolved = path.resolve(dir);
  if (existsSync(path.join(resolved, 'manifest.json'))) return resolved;
  if (existsSync(path.join(resolved, 'cdk.out', 'manifest.json'))) return path.join(resolved, 'cdk.out');
  if (!existsSync(resolved)) {
    throw new AppLoadError(`--app ${dir}: no such directory. Run \`cdk synth\` in your CDK app first and pass its output directory (cdk.out).`);
  }
  throw new AppLoadError(`--app ${dir}: not a cloud assembly (no manifest.json). Run \`cdk synth\` in your CDK app first and pass its output directory (cdk.out).`);
}

/** Every stack of the assembly in `dir`, nested assemblies included. */
export function readStacks(dir: string): AssemblyStack[] {
  return readAssembly(assemblyDirectory(dir), '');
}

function readAssembly(assemblyDir: string, displayPrefix: string): AssemblyStack[] {
  const manifest = readJson(path.join(assemblyDir, 'manifest.json'));
  const artifacts = isObject(manifest.artifacts) ? manifest.artifacts : {};
  const stacks: AssemblyStack[] = [];
  for (const [artifactId, artifact] of Object.entries(artifacts)) {
    if (!isObject(artifact)) continue;
    const properties = isObject(artifact.properties) ? artifact.properties : {};
    if (artifact.type === 'cdk:cloud-assembly' && typeof properties.directoryName === 'string') {
      const nestedName = typeof properties.displayName === 'string' ? properties.displayName : artifactId;
      stacks.push(...readAssembly(path.resolve(assemblyDir, properties.directoryName), `${displayPrefix}${nestedName}/`));
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack' || typeof properties.templateFile !== 'string') continue;
    const dependencies = Array.isArray(artifact.dependencies) ? artifact.dependencies.filter((d): d is string => typeof d === 'string') : [];
    const assetManifestFiles = dependencies
      .map((id) => artifacts[id])
      .filter((dep): dep is Record<string, unknown> => isObject(dep) && dep.type === 'cdk:asset-manifest')
      .map((dep) => (isObject(dep.properties) ? dep.properties.file : undefined))
      .filter((file): file is string => typeof file === 'string')
      .map((file) => path.resolve(assemblyDir, file));
    stacks.push({
      artifactId,
      stackName: typeof properties.stackName === 'string' ? properties.stackName : artifactId,
      displayName: typeof artifact.displayName === 'string' ? artifact.displayName : `${displayPrefix}${artifactId}`,
      assemblyDir,
      templateFile: path.resolve(assemblyDir, properties.templateFile),
      assetManifestFiles,
      metadata: readMetadata(assemblyDir, artifact),
    });
  }
  return stacks;
}

function readMetadata(assemblyDir: string, artifact: Record<string, unknown>): Record<string, MetadataEntry[]> {
  const metadata: Record<string, MetadataEntry[]> = {};
  const add = (source: unknown) => {
    if (!isObject(source)) return;
    for (const [constructPath, entries] of Object.entries(source)) {
      if (!Array.isArray(entries)) continue;
      (metadata[constructPath] ??= []).push(...entries.filter(isObject).map((e) => ({ type: String(e.type), data: e.data })));
    }
  };
  add(artifact.metadata);
  if (typeof artifact.additionalMetadataFile === 'string') {
    const file = path.resolve(assemblyDir, artifact.additionalMetadataFile);
    if (existsSync(file)) add(readJson(file));
  }
  return metadata;
}

export function readTemplate(stack: AssemblyStack): CfnTemplate {
  const template = readJson(stack.templateFile);
  return { Resources: isObject(template.Resources) ? (template.Resources as CfnTemplate['Resources']) : {}, Parameters: isObject(template.Parameters) ? (template.Parameters as CfnTemplate['Parameters']) : {} };
}

/** The file and image assets of the stack's asset manifests. */
export function readAssets(stack: AssemblyStack): AssetManifest {
  const files: FileAsset[] = [];
  const images: ImageAsset[] = [];
  for (const file of stack.assetManifestFiles) {
    const manifest = readJson(file);
    const dir = path.dirname(file);
    for (const [id, entry] of Object.entries(isObject(manifest.files) ? manifest.files : {})) {
      if (!isObject(entry)) continue;
      const source = isObject(entry.source) ? entry.source : {};
      const destinations = isObject(entry.destinations) ? Object.values(entry.destinations) : [];
      files.push({
        id,
        sourcePath: typeof source.path === 'string' ? path.resolve(dir, source.path) : undefined,
        packaging: typeof source.packaging === 'string' ? source.packaging : undefined,
        executable: Array.isArray(source.executable) ? source.executable.map(String) : undefined,
        objectKeys: destinations.filter(isObject).map((d) => d.objectKey).filter((k): k is string => typeof k === 'string'),
        displayName: typeof entry.displayName === 'string' ? entry.displayName : undefined,
      });
    }
    for (const [id, entry] of Object.entries(isObject(manifest.dockerImages) ? manifest.dockerImages : {})) {
      if (!isObject(entry)) continue;
      const destinations = isObject(entry.destinations) ? Object.values(entry.destinations) : [];
      images.push({
        id,
        imageTags: destinations.filter(isObject).map((d) => d.imageTag).filter((t): t is string => typeof t === 'string'),
        displayName: typeof entry.displayName === 'string' ? entry.displayName : undefined,
      });
    }
  }
  return { files, images };
}

/** Logical ID → construct path relative to the stack (e.g. `Chat/Api/Resource`), from the `aws:cdk:logicalId` metadata. */
export function constructPaths(stack: AssemblyStack): Map<string, string> {
  const paths = new Map<string, string>();
  // `/Stack/Chat/Api/Resource` → `Chat/Api/Resource` (the stack's own path is its display name, `Prod/Stack` in a stage).
  const stackPrefix = `/${stack.displayName}/`;
  for (const [constructPath, entries] of Object.entries(stack.metadata)) {
    for (const entry of entries) {
      if (entry.type === 'aws:cdk:logicalId' && typeof entry.data === 'string') {
        paths.set(entry.data, constructPath.startsWith(stackPrefix) ? constructPath.slice(stackPrefix.length) : constructPath.replace(/^\/?[^/]+\//, ''));
      }
    }
  }
  return paths;
}

export function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppLoadError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (!isObject(value)) throw new Error('not a JSON object');
    return value;
  } catch (err) {
    throw new AppLoadError(`${file} is not valid JSON (${(err as Error).message}): run \`cdk synth\` again`);
  }
}
