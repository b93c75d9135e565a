/**
 * The source of one Lambda execution environment: a worker thread that loads ONE function's code the way Lambda's
 * Node.js runtime does and runs one invocation at a time. Plain CommonJS in a string (`new Worker(src, { eval:
 * true })`), so it runs from the esbuild bundle and from ts-jest alike.
 *
 * Messages, parent → worker: `{ type: 'init' }` (load the code now: a warm-up), `{ type: 'invoke', id, event,
 * requestId, timeoutMs }`. Worker → parent: `{ type: 'ready' }` / `{ type: 'initError', error }` after `init`;
 * `{ type: 'start', id }` when the handler is called (the timeout counts from here: the init phase is not part of
 * it, as in Lambda), then `{ type: 'result', id, ok, result | error, phase }`.
 */
export const WORKER_SOURCE = String.raw`
'use strict';
// An eval'd worker gets require, module, exports, __filename and __dirname as globals; the function's code must not
// (an ES module on Lambda has no require).
const nodeRequire = require;
for (const name of ['require', 'module', 'exports', '__filename', '__dirname']) delete globalThis[name];
const { parentPort, workerData } = nodeRequire('node:worker_threads');
const fs = nodeRequire('node:fs');
const path = nodeRequire('node:path');
const Module = nodeRequire('node:module');
const { pathToFileURL } = nodeRequire('node:url');

// Module resolution fallback (like Lambda's NODE_PATH, which puts the runtime's own node_modules, e.g. the AWS
// SDK, after the function's): a bare name the code cannot resolve from its own directory is looked up from each
// of these directories in turn.
const fallback = workerData.resolvePaths || [];
if (fallback.length > 0) {
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, isMain, options) {
    try {
      return resolveFilename.call(this, request, parent, isMain, options);
    } catch (err) {
      if (!err || err.code !== 'MODULE_NOT_FOUND' || request.startsWith('.') || path.isAbsolute(request)) throw err;
      for (const dir of fallback) {
        try { return resolveFilename.call(this, request, parent, isMain, { paths: [dir] }); } catch { /* next */ }
      }
      throw err;
    }
  };
  if (typeof Module.register === 'function') {
    // The same for ES modules (import), through a resolve hook.
    Module.register('data:text/javascript,' + encodeURIComponent(workerData.esmHook), {
      data: { parents: fallback.map((dir) => pathToFileURL(path.join(dir, 'noop.js')).href) },
    });
  }
}

function runtimeError(errorType, message) {
  const err = new Error(message);
  err.name = errorType;
  return err;
}

function nearestPackageType(file) {
  let dir = path.dirname(file);
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      return pkg && pkg.type;
    } catch { /* none here */ }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function requireFile(file) {
  try {
    return nodeRequire(file);
  } catch (err) {
    if (err instanceof SyntaxError) throw runtimeError('Runtime.UserCodeSyntaxError', String(err.stack || err));
    if (err && err.code === 'MODULE_NOT_FOUND') throw runtimeError('Runtime.ImportModuleError', 'Error: ' + err.message);
    throw err;
  }
}

async function importFile(file) {
  try {
    return await import(pathToFileURL(file).href);
  } catch (err) {
    if (err instanceof SyntaxError) throw runtimeError('Runtime.UserCodeSyntaxError', String(err.stack || err));
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') throw runtimeError('Runtime.ImportModuleError', 'Error: ' + err.message);
    throw err;
  }
}

// Lambda's rules for the Handler setting "path/to/module.export[.nested]": the module is looked up in
// path/to/ as module.js (CommonJS, or ESM under a package.json with "type": "module"), module.mjs, module.cjs,
// then as a package name.
async function loadHandler() {
  const full = workerData.handler;
  const base = path.basename(full || '');
  const dot = base.indexOf('.');
  if (!full || dot <= 0 || dot === base.length - 1) throw runtimeError('Runtime.MalformedHandlerName', 'Bad handler ' + full);
  const moduleRoot = full.slice(0, full.length - base.length);
  const moduleName = base.slice(0, dot);
  const handlerPath = base.slice(dot + 1);
  const root = path.resolve(workerData.codeDir, moduleRoot);
  const file = path.join(root, moduleName);
  let mod;
  if (fs.existsSync(file + '.js')) {
    mod = nearestPackageType(file + '.js') === 'module' ? await importFile(file + '.js') : requireFile(file + '.js');
  } else if (fs.existsSync(file + '.mjs')) {
    mod = await importFile(file + '.mjs');
  } else if (fs.existsSync(file + '.cjs')) {
    mod = requireFile(file + '.cjs');
  } else {
    let resolved;
    try {
      resolved = nodeRequire.resolve(moduleName, { paths: [workerData.codeDir, root] });
    } catch {
      throw runtimeError('Runtime.ImportModuleError', "Error: Cannot find module '" + moduleName + "' (handler " + full + ' in ' + workerData.codeDir + ')');
    }
    mod = requireFile(resolved);
  }
  let fn = mod;
  for (const part of handlerPath.split('.')) fn = fn == null ? undefined : fn[part];
  if (typeof fn !== 'function') {
    throw runtimeError('Runtime.HandlerNotFound', full + ' is undefined or not exported');
  }
  return fn;
}

let handler;
let initError;
async function init() {
  if (handler) return handler;
  if (initError) throw initError;
  try {
    handler = await loadHandler();
    return handler;
  } catch (err) {
    initError = err;
    throw err;
  }
}

function errorOf(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || 'Error',
      errorMessage: err.message,
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
    };
  }
  return { errorType: typeof err, errorMessage: typeof err === 'string' ? err : JSON.stringify(err) ?? String(err), trace: [] };
}

function contextFor(msg, deadline) {
  const fn = workerData.functionName;
  return {
    awsRequestId: msg.requestId,
    functionName: fn,
    functionVersion: '$LATEST',
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: String(workerData.memoryMb),
    logGroupName: '/aws/lambda/' + fn,
    logStreamName: workerData.logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
}

async function invoke(fn, msg) {
  const deadline = Date.now() + msg.timeoutMs;
  const context = contextFor(msg, deadline);
  if (fn.length >= 3) {
    // A callback-style handler (Node.js runtimes up to 22).
    return await new Promise((resolve, reject) => {
      const maybe = fn(msg.event, context, (err, value) => (err ? reject(err) : resolve(value)));
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return await fn(msg.event, context);
}

parentPort.on('message', async (msg) => {
  if (msg.type === 'init') {
    try {
      await init();
      parentPort.postMessage({ type: 'ready' });
    } catch (err) {
      parentPort.postMessage({ type: 'initError', error: errorOf(err) });
    }
    return;
  }
  let fn;
  try {
    fn = await init();
  } catch (err) {
    parentPort.postMessage({ type: 'result', id: msg.id, ok: false, phase: 'init', error: errorOf(err) });
    return;
  }
  parentPort.postMessage({ type: 'start', id: msg.id });
  try {
    const value = await invoke(fn, msg);
    // Lambda returns the result as JSON.
    const result = value === undefined ? undefined : JSON.parse(JSON.stringify(value));
    parentPort.postMessage({ type: 'result', id: msg.id, ok: true, result });
  } catch (err) {
    parentPort.postMessage({ type: 'result', id: msg.id, ok: false, phase: 'invoke', error: errorOf(err) });
  }
});
`;

/**
 * The ES-module side of the resolution fallback: a `module.register` resolve hook that retries a bare specifier
 * from each fallback directory (given as the URLs of a file inside it).
 */
export const ESM_RESOLVE_HOOK = `
let parents = [];
export function initialize(data) { parents = data.parents; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const bare = !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.includes(':');
    if (!err || err.code !== 'ERR_MODULE_NOT_FOUND' || !bare) throw err;
    for (const parentURL of parents) {
      try { return await next(specifier, { ...context, parentURL }); } catch { /* next */ }
    }
    throw err;
  }
}
`;
