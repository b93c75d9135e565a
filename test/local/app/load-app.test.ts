import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Fn, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { chatStack, queryFunction } from './chat-app';
import { FIXTURES, removeSynthesizedApps, synth } from './synth';
import { ChatAuth, WebSocketChat } from '../../../src';
import { AppLoadError } from '../../../src/local/app/errors';
import { LOCAL_ISSUER, loadCloudAssemblyApp } from '../../../src/local/app/load-app';
import type { LocalAppSpec, LocalFunctionSpec } from '../../../src/local/app-model';

/** `--app cdk.out`: a synthesized app with a WebSocketChat, mapped onto what the local gateway runs. */

afterAll(removeSynthesizedApps);

function fn(app: LocalAppSpec, name: string): LocalFunctionSpec {
  const found = app.functions.find((f) => f.name === name);
  if (!found) throw new Error(`no function ${name} in ${app.functions.map((f) => f.name).join(', ')}`);
  return found;
}

/** The local name of the app function whose logical ID starts with `prefix`. */
function appFunctionName(app: LocalAppSpec, prefix: string): string {
  return fn(app, app.functions.find((f) => f.name.startsWith(prefix))?.name ?? prefix).name;
}

describe('an app with its own routes (an asset and inline code)', () => {
  const synthesized = synth((app) => {
    chatStack(app, 'ChatApp', {}, (stack, chat) => {
      chat.addRoute('query', queryFunction(stack, 'Query', { GREETING: 'hello' }));
      chat.addRoute('inline', new lambda.Function(stack, 'Inline', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
        functionName: 'my-inline-fn',
        timeout: Duration.seconds(7),
      }));
    });
  }, { nodeModules: true });
  const app = loadCloudAssemblyApp(synthesized.outdir);

  test('names its source and stage; no warnings', () => {
    expect(app.source).toBe(`${synthesized.outdir} (stack ChatApp)`);
    expect(app.stage).toBe('dev');
    expect(app.warnings).toEqual([]);
  });

  test("routes the built-in route keys to the built-in handlers and the app's actions to its functions", () => {
    const query = appFunctionName(app, 'Query');
    const inline = appFunctionName(app, 'Inline');
    expect(app.routes).toEqual({
      $connect: 'connect',
      $disconnect: 'disconnect',
      $default: 'default',
      sendMessage: 'sendMessage',
      ping: 'ping',
      join: 'join',
      leave: 'leave',
      presence: 'presence',
      history: 'history',
      query,
      inline,
    });
    expect(fn(app, query).builtIn).toBeUndefined();
    expect(fn(app, 'sendMessage').builtIn).toBe('sendMessage');
  });

  test('the authorizer with its identity source; publish and the fan-out worker are there too', () => {
    expect(app.authorizer).toEqual({ functionName: 'authorizer', identitySource: ['route.request.querystring.token'] });
    expect(fn(app, 'authorizer').builtIn).toBe('authorizer');
    expect(fn(app, 'publish').builtIn).toBe('publish');
    expect(fn(app, 'fanoutWorker').builtIn).toBe('fanoutWorker');
  });

  test("a function's code is its asset directory in cdk.out; inline code is written out as index.js", () => {
    const query = fn(app, appFunctionName(app, 'Query'));
    expect(query.codeDir.startsWith(path.join(synthesized.outdir, 'asset.'))).toBe(true);
    expect(query.handler).toBe('index.handler');
    expect(fn(app, 'sendMessage').codeDir.startsWith(path.join(synthesized.outdir, 'asset.'))).toBe(true);
    const inline = fn(app, appFunctionName(app, 'Inline'));
    expect(readFileSync(path.join(inline.codeDir, 'index.js'), 'utf8')).toBe('exports.handler = async () => ({ statusCode: 200 });');
  });

  test("timeouts: the template's, or Lambda's 3 s default", () => {
    expect(fn(app, 'sendMessage').timeoutSeconds).toBe(29);
    expect(fn(app, 'ping').timeoutSeconds).toBe(10);
    expect(fn(app, appFunctionName(app, 'Inline')).timeoutSeconds).toBe(7);
    expect(fn(app, appFunctionName(app, 'Query')).timeoutSeconds).toBe(3);
  });

  test('aliases: logical ID, FunctionName and local ARNs; publish answers to publish', () => {
    const inline = fn(app, appFunctionName(app, 'Inline'));
    expect(inline.name).toMatch(/^Inline[0-9A-F]{8}$/);
    expect(inline.aliases).toEqual(expect.arrayContaining([
      'my-inline-fn',
      `arn:aws:lambda:us-east-1:000000000000:function:${inline.name}`,
      'arn:aws:lambda:us-east-1:000000000000:function:my-inline-fn',
    ]));
    const publish = fn(app, 'publish');
    expect(publish.aliases).toEqual(expect.arrayContaining([expect.stringMatching(/^ChatPublish[0-9A-F]{8}$/), 'arn:aws:lambda:us-east-1:000000000000:function:publish']));
  });

  test("environments: the chat's resources become the gateway's placeholders; literals stay", () => {
    const query = fn(app, appFunctionName(app, 'Query'));
    expect(query.env).toEqual({
      GREETING: 'hello',
      MANAGEMENT_ENDPOINT: { local: 'managementEndpoint' },
      CONNECTIONS_TABLE: { local: 'connectionsTable' },
    });
    expect(fn(app, 'sendMessage').env).toMatchObject({
      CONNECTIONS_TABLE: { local: 'connectionsTable' },
      MESSAGES_TABLE: { local: 'messagesTable' },
      MANAGEMENT_ENDPOINT: { local: 'managementEndpoint' },
      FANOUT_WORKER_FUNCTION: { localFunction: 'fanoutWorker' },
      MAX_MESSAGE_BYTES: '31744',
    });
    expect(fn(app, 'authorizer').env).toMatchObject({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: { local: 'authSecretArn' }, USER_ID_CLAIM: 'sub' });
    expect(fn(app, 'default').env.VALID_ACTIONS).toBe('sendMessage,ping,join,leave,presence,history,query,inline');
  });

  test("the app's own functions resolve modules from the app's node_modules; built-in bundles need none", () => {
    expect(fn(app, appFunctionName(app, 'Query')).resolvePaths).toEqual([path.join(synthesized.appDir, 'node_modules')]);
    expect(fn(app, 'sendMessage').resolvePaths).toBeUndefined();
  });

  test('tables: connections and messages, with the spec\'s schemas; HS256 auth; maxMessageBytes', () => {
    expect(app.tables.map((t) => [t.spec.id, t.name])).toEqual([
      ['connections', expect.stringMatching(/^ChatConnectionsTable/)],
      ['messages', expect.stringMatching(/^ChatMessagesTable/)],
    ]);
    expect(app.auth).toEqual({ mode: 'hs256', audience: [], userIdClaim: 'sub' });
    expect(app.maxMessageBytes).toBe(31744);
  });

  test('the app directory works for its cdk.out', () => {
    expect(loadCloudAssemblyApp(synthesized.appDir).routes).toEqual(app.routes);
  });
});

describe('props and auth settings carried over', () => {
  test('stage name, maxMessageBytes, history off; HS256 with a secret field, issuer, audience, claims', () => {
    const { outdir } = synth((app) => {
      const stack = new Stack(app, 'Custom');
      const secret = new secretsmanager.Secret(stack, 'Key');
      new WebSocketChat(stack, 'Chat', {
        auth: ChatAuth.hs256({ secret, secretField: 'jwtKey', issuer: 'https://auth.example.com/', audience: ['chat', 'web'], userIdClaim: 'uid', roomsClaim: 'rooms' }),
        stageName: 'live',
        maxMessageBytes: 2048,
        history: false,
      });
    });
    const app = loadCloudAssemblyApp(outdir);
    expect(app.stage).toBe('live');
    expect(app.maxMessageBytes).toBe(2048);
    expect(app.tables.map((t) => t.spec.id)).toEqual(['connections']);
    expect(app.routes.history).toBeUndefined();
    expect(app.auth).toEqual({ mode: 'hs256', secretField: 'jwtKey', issuer: 'https://auth.example.com/', audience: ['chat', 'web'], userIdClaim: 'uid', roomsClaim: 'rooms' });
    expect(fn(app, 'authorizer').env).toMatchObject({ AUTH_SECRET_FIELD: 'jwtKey', AUTH_SECRET_ARN: { local: 'authSecretArn' } });
  });

  test('JWKS: the URL becomes the gateway\'s (local key pair, or --jwks-url); algorithms, issuer, audience kept', () => {
    const { outdir } = synth((app) => {
      chatStack(app, 'Jwks', {
        auth: ChatAuth.jwks({ jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/', audience: ['chat'], algorithms: ['ES256', 'RS256'] }),
      });
    });
    const app = loadCloudAssemblyApp(outdir);
    expect(app.auth).toEqual({ mode: 'jwks', issuer: 'https://idp.example.com/', audience: ['chat'], algorithms: ['ES256', 'RS256'], userIdClaim: 'sub' });
    expect(fn(app, 'authorizer').env.AUTH_JWKS_URL).toEqual({ local: 'jwksUrl' });
    expect(loadCloudAssemblyApp(outdir, { jwksUrl: 'http://127.0.0.1:9999/jwks.json' }).auth).toMatchObject({ mode: 'jwks', jwksUrl: 'http://127.0.0.1:9999/jwks.json' });
  });

  test('JWKS with an issuer only a deployment knows: a local stand-in both the authorizer and dev tokens use, and a warning', () => {
    const { outdir } = synth((app) => {
      chatStack(app, 'Cognito', {
        auth: ChatAuth.jwks({
          jwksUrl: 'https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json',
          issuer: Fn.importValue('UserPoolIssuer'),
        }),
      });
    });
    const app = loadCloudAssemblyApp(outdir);
    expect(app.auth).toMatchObject({ mode: 'jwks', issuer: LOCAL_ISSUER });
    expect(fn(app, 'authorizer').env.AUTH_ISSUER).toBe(LOCAL_ISSUER);
    expect(app.warnings).toEqual([expect.stringMatching(/^AUTH_ISSUER of the authorizer Chat\/Authorizer \(ChatAuthorizer[0-9A-F]+\) is Fn::ImportValue UserPoolIssuer .*--env AUTH_ISSUER=VALUE/)]);
    // --env sets it: no stand-in, no warning.
    const fixed = loadCloudAssemblyApp(outdir, { env: { AUTH_ISSUER: 'https://real-issuer/' } });
    expect(fixed.auth).toMatchObject({ issuer: 'https://real-issuer/' });
    expect(fixed.warnings).toEqual([]);
  });

  test('--jwks-url on an app that does not use a JWKS is an error', () => {
    const { outdir } = synth((app) => chatStack(app, 'Hs'));
    expect(() => loadCloudAssemblyApp(outdir, { jwksUrl: 'http://127.0.0.1:1/jwks.json' })).toThrow(/--jwks-url: the app's authorizer uses HS256 \(ChatAuth\.hs256\), not a JWKS/);
  });

  test('ChatAuth.none(): no identity source, auth none', () => {
    const { outdir } = synth((app) => chatStack(app, 'Open', { auth: ChatAuth.none() }));
    const app = loadCloudAssemblyApp(outdir);
    expect(app.auth).toEqual({ mode: 'none' });
    // The construct keeps its authorizer (AUTH_MODE none), with no identity source.
    expect(app.authorizer).toEqual({ functionName: 'authorizer', identitySource: [] });
  });
});

describe('environment values the gateway cannot know', () => {
  const synthesized = synth((app) => {
    chatStack(app, 'Refs', {}, (stack, chat) => {
      const bucket = new s3.Bucket(stack, 'Uploads');
      const worker = new lambda.Function(stack, 'Worker', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
      });
      const report = new lambda.Function(stack, 'Report', {
        runtime: lambda.Runtime.PYTHON_3_12,
        handler: 'index.handler',
        code: lambda.Code.fromInline('def handler(event, context): return event'),
      });
      const layer = new lambda.LayerVersion(stack, 'Layer', { code: lambda.Code.fromAsset(path.join(FIXTURES, 'query-handler')) });
      const withLayer = queryFunction(stack, 'WithLayer');
      withLayer.addLayers(layer);
      chat.addRoute('layered', withLayer);
      chat.addRoute('query', queryFunction(stack, 'Query', {
        BUCKET: bucket.bucketName,
        SHARED: Fn.importValue('SharedValue'),
        REGION_HERE: Stack.of(stack).region,
        WORKER_NAME: worker.functionName,
        WORKER_ARN: worker.functionArn,
        REPORT_NAME: report.functionName,
        CHAT_SECRET: (stack.node.findChild('JwtSecret') as secretsmanager.Secret).secretArn,
        MESSAGES: chat.messagesTable!.tableName,
        ENDPOINT: chat.managementEndpoint,
        CHAT_URL: chat.url,
      }));
    });
  });

  test('each unmapped variable gives a warning naming it and its function; it is left unset', () => {
    const app = loadCloudAssemblyApp(synthesized.outdir);
    const query = fn(app, appFunctionName(app, 'Query'));
    const warningsAbout = (key: string) => app.warnings.filter((w) => w.startsWith(`${key} of function Query (Query`));
    expect(warningsAbout('BUCKET')).toEqual([expect.stringMatching(/is Ref Uploads[0-9A-F]+ \(AWS::S3::Bucket\): the local gateway cannot resolve it, so it is unset; set it with --env BUCKET=VALUE$/)]);
    expect(warningsAbout('SHARED')).toEqual([expect.stringContaining('Fn::ImportValue SharedValue')]);
    expect(warningsAbout('REPORT_NAME')).toEqual([expect.stringMatching(/is a function the local gateway cannot run \(function Report \(Report[0-9A-F]+\) runs python3\.12/)]);
    expect(warningsAbout('CHAT_URL')).toHaveLength(1);
    expect(app.warnings.filter((w) => w.startsWith('function WithLayer'))).toEqual([
      expect.stringMatching(/^function WithLayer \(WithLayer[0-9A-F]+\) uses Lambda layers: the local gateway does not load them/),
    ]);
    expect(app.warnings).toHaveLength(5);
    for (const key of ['BUCKET', 'SHARED', 'REPORT_NAME', 'CHAT_URL']) expect(query.env[key]).toBeUndefined();
  });

  test("what is the chat's own, a pseudo parameter or another Node.js function maps onto the gateway", () => {
    const app = loadCloudAssemblyApp(synthesized.outdir);
    const query = fn(app, appFunctionName(app, 'Query'));
    const worker = appFunctionName(app, 'Worker');
    expect(query.env).toMatchObject({
      REGION_HERE: 'eu-west-1', // the stack's env makes it a literal
      WORKER_NAME: { localFunction: worker },
      WORKER_ARN: { localFunction: worker },
      CHAT_SECRET: { local: 'authSecretArn' },
      MESSAGES: { local: 'messagesTable' },
      ENDPOINT: { local: 'managementEndpoint' },
    });
    // The function it refers to runs too (Invoke API by name); the Python one does not.
    expect(fn(app, worker).aliases).toContain(`arn:aws:lambda:us-east-1:000000000000:function:${worker}`);
    expect(app.functions.some((f) => f.name.startsWith('Report'))).toBe(false);
  });

  test('--env KEY=VALUE fixes them, and always wins (in every function)', () => {
    const app = loadCloudAssemblyApp(synthesized.outdir, { env: { BUCKET: 'local-bucket', SHARED: 'x', REPORT_NAME: 'r', CHAT_URL: 'ws://127.0.0.1:8080/dev', METRICS_NAMESPACE: 'Local' } });
    expect(app.warnings).toEqual([expect.stringMatching(/^function WithLayer .* uses Lambda layers/)]);
    const query = fn(app, appFunctionName(app, 'Query'));
    expect(query.env).toMatchObject({ BUCKET: 'local-bucket', SHARED: 'x', METRICS_NAMESPACE: 'Local' });
    expect(fn(app, 'sendMessage').env.METRICS_NAMESPACE).toBe('Local');
  });
});

describe('functions the gateway cannot run are refused, naming them', () => {
  test('a Python route', () => {
    const { outdir } = synth((app) => chatStack(app, 'Py', {}, (stack, chat) => {
      chat.addRoute('report', new lambda.Function(stack, 'Report', {
        runtime: lambda.Runtime.PYTHON_3_12,
        handler: 'index.handler',
        code: lambda.Code.fromInline('def handler(event, context): return {"statusCode": 200}'),
      }));
    }));
    expect(() => loadCloudAssemblyApp(outdir)).toThrow(AppLoadError);
    expect(() => loadCloudAssemblyApp(outdir)).toThrow(/^function Report \(Report[0-9A-F]+\) runs python3\.12: the local gateway runs Node\.js functions \(nodejs\*\) only$/);
  });

  test('a container image (Docker image asset)', () => {
    const { outdir } = synth((app) => chatStack(app, 'Img', {}, (stack, chat) => {
      chat.addRoute('image', new lambda.DockerImageFunction(stack, 'ImageFn', { code: lambda.DockerImageCode.fromImageAsset(path.join(FIXTURES, 'docker-image')) }));
    }));
    expect(() => loadCloudAssemblyApp(outdir)).toThrow(/^function ImageFn \(ImageFn[0-9A-F]+\) is a container image \(Code\.ImageUri\)/);
  });

  test('a prebuilt .zip file asset', () => {
    const { outdir } = synth((app) => chatStack(app, 'Zip', {}, (stack, chat) => {
      chat.addRoute('zipped', new lambda.Function(stack, 'Zipped', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromAsset(path.join(FIXTURES, 'zipped.zip')),
      }));
    }));
    expect(() => loadCloudAssemblyApp(outdir)).toThrow(/^function Zipped \(Zipped[0-9A-F]+\): its code asset .* is a file/);
  });

  test('a handler whose module is not in the code', () => {
    const { outdir } = synth((app) => chatStack(app, 'Missing', {}, (stack, chat) => {
      chat.addRoute('q', new lambda.Function(stack, 'Q', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'main.handler', code: lambda.Code.fromAsset(path.join(FIXTURES, 'query-handler')) }));
    }));
    expect(() => loadCloudAssemblyApp(outdir)).toThrow(/^function Q \(Q[0-9A-F]+\): its handler is main\.handler, but .* has no main\.js, \.mjs or \.cjs$/);
  });
});
