import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { EnvValue, LocalAppSpec, LocalFunctionSpec, LocalValue } from './app-model';
import { LOCAL_ACCOUNT_ID } from './events';
import type { RuntimeFunction } from './lambda-runtime';

/**
 * Turns an app's functions into what the Lambda runtime runs: placeholders resolved to the running gateway's
 * values, plus what Lambda itself sets (its reserved variables) and the endpoints that point the AWS SDK at the
 * gateway's local services.
 */

/** What the running gateway knows, for the placeholders of `LocalAppSpec` environments. */
export interface GatewayValues {
  readonly local: Readonly<Partial<Record<LocalValue, string>>>;
  readonly region: string;
  readonly dynamoEndpoint: string;
  readonly secretsEndpoint: string;
  /** The gateway's base URL: its Lambda Invoke API. */
  readonly lambdaEndpoint: string;
}

export interface ResolveOptions {
  /** Added after everything else (tests' overrides). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Overrides every function's timeout. */
  readonly timeoutSeconds?: number;
  /** Appended to every function's module resolution fallback. */
  readonly resolvePaths?: readonly string[];
  /** The base environment (the gateway's own, without AWS settings). @default inheritedEnv() */
  readonly baseEnv?: Readonly<Record<string, string>>;
}

export interface ResolvedFunctions {
  readonly functions: RuntimeFunction[];
  /** Placeholders that could not be resolved (each names the variable and the function). */
  readonly warnings: string[];
}

/** `arn:aws:lambda:{region}:000000000000:function:{name}`. */
export function localFunctionArn(region: string, name: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`;
}

export function resolveFunctions(app: LocalAppSpec, values: GatewayValues, options: ResolveOptions = {}): ResolvedFunctions {
  const warnings: string[] = [];
  const names = functionIndex(app);
  const base = options.baseEnv ?? inheritedEnv();
  const functions = app.functions.map((fn): RuntimeFunction => {
    const env: Record<string, string> = { ...base };
    for (const [name, value] of Object.entries(fn.env)) {
      const resolved = resolveValue(value, values, names);
      if (resolved === undefined) warnings.push(`${name} of function ${fn.name}: ${describe(value)} is not available locally; left unset`);
      else env[name] = resolved;
    }
    const timeoutSeconds = options.timeoutSeconds ?? fn.timeoutSeconds;
    Object.assign(env, awsEnv(values), lambdaEnv(fn, values.region), options.extraEnv);
    return {
      name: fn.name,
      codeDir: fn.codeDir,
      handler: fn.handler,
      env,
      timeoutMs: Math.round(timeoutSeconds * 1000),
      resolvePaths: [...(fn.resolvePaths ?? []), ...(options.resolvePaths ?? [])],
      arn: localFunctionArn(values.region, fn.name),
    };
  });
  return { functions, warnings };
}

/** Name, alias or ARN → the function's local name. */
export function functionIndex(app: LocalAppSpec): Map<string, string> {
  const index = new Map<string, string>();
  for (const fn of app.functions) {
    index.set(fn.name, fn.name);
    for (const alias of fn.aliases ?? []) if (!index.has(alias)) index.set(alias, fn.name);
  }
  return index;
}

function resolveValue(value: EnvValue, values: GatewayValues, names: Map<string, string>): string | undefined {
  if (typeof value === 'string') return value;
  if ('local' in value) return value.local === 'region' ? values.region : values.local[value.local];
  return names.get(value.localFunction);
}

function describe(value: EnvValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return 'local' in value ? `the gateway's ${value.local}` : `function ${value.localFunction}`;
}

/** The AWS SDK pointed at the gateway's services, with dummy credentials (nothing leaves this machine). */
function awsEnv(values: GatewayValues): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: values.dynamoEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: values.secretsEndpoint,
    AWS_ENDPOINT_URL_LAMBDA: values.lambdaEndpoint,
    AWS_REGION: values.region,
    AWS_DEFAULT_REGION: values.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    // Lambda runs the code on its own Node.js; the SDK's warning about the local Node.js version is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Lambda's reserved variables that code commonly reads. */
function lambdaEnv(fn: LocalFunctionSpec, region: string): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    LAMBDA_TASK_ROOT: fn.codeDir,
    _HANDLER: fn.handler,
    AWS_REGION: region,
  };
}

/**
 * What a function inherits from the gateway's own environment: only what a process needs to run on this machine
 * (the search path, home and temporary directories, locale, time zone, extra CA certificates). A Lambda function sees
 * its own environment and what Lambda sets, never the developer's shell: code that reads another variable would work
 * locally and fail when deployed. (`--env KEY=VALUE` sets a variable for the functions.)
 */
export const INHERITED_VARIABLES = ['PATH', 'HOME', 'TMPDIR', 'TEMP', 'TMP', 'LANG', 'LC_ALL', 'TZ', 'NODE_EXTRA_CA_CERTS', 'SystemRoot'];

export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Functions whose code is missing: a built-in handler's bundle (`{codeDir}/index.js`, built by `npx projen
 * bundle`), or any other function's code directory. An error message, or undefined when all is there.
 */
export function missingCode(app: LocalAppSpec): string | undefined {
  const bundles = app.functions.filter((fn) => fn.builtIn && !existsSync(path.join(fn.codeDir, 'index.js')));
  if (bundles.length > 0) {
    const dirs = [...new Set(bundles.map((fn) => path.dirname(fn.codeDir)))];
    return (
      `Handler bundle(s) not found in ${dirs.join(', ')}: ${bundles.map((fn) => `${path.basename(fn.codeDir)}/index.js`).join(', ')}. ` +
      'In the repository, run `npx projen bundle` first.'
    );
  }
  const dirs = app.functions.filter((fn) => !fn.builtIn && !existsSync(fn.codeDir));
  if (dirs.length > 0) return `Code of function(s) not found: ${dirs.map((fn) => `${fn.name} (${fn.codeDir})`).join(', ')}`;
  return undefined;
}
