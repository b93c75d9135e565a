import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Fn } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { exportJWK, generateKeyPair } from 'jose';
import { chatStack, queryFunction } from './chat-app';
import { removeSynthesizedApps, synth } from './synth';
import { ChatAuth } from '../../../src';
import { loadCloudAssemblyApp } from '../../../src/local/app/load-app';
import { startLocalGateway, type LocalGateway } from '../../../src/local/gateway';
import { assertRealBundles } from '../../support/real-handlers';
import { signToken } from '../../support/tokens';
import { HandshakeRejected, TestClient } from '../../support/ws-client';

/**
 * `--app`: the gateway runs the user's own synthesized app — its built-in handlers from the assembly's assets and
 * its own `addRoute` handler — and real clients talk to it over real sockets with the gateway's dev tokens.
 */

assertRealBundles();

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});
afterAll(removeSynthesizedApps);

async function start(app: ReturnType<typeof loadCloudAssemblyApp>, options: Parameters<typeof startLocalGateway>[0] = {}): Promise<LocalGateway> {
  const gateway = await startLocalGateway({ app, port: 0, handlerOutput: process.env.LOCAL_GATEWAY_DEBUG ? 'inherit' : 'ignore', ...options });
  open.push(gateway);
  return gateway;
}

async function connect(gateway: LocalGateway, user: string, room = 'lobby'): Promise<TestClient> {
  const client = await TestClient.connect(`${gateway.url}?room_id=${room}&token=${gateway.devToken(user)}`);
  open.push({ close: () => client.ws.close() });
  return client;
}

/** Inline code (written to a temporary directory, away from any node_modules) that needs the AWS SDK. */
const WHOAMI = `
const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require('@aws-sdk/client-apigatewaymanagementapi');
exports.handler = async (event) => {
  const client = new ApiGatewayManagementApiClient({ endpoint: process.env.MANAGEMENT_ENDPOINT });
  const data = JSON.stringify({ action: 'you', user_id: event.requestContext.authorizer.userId });
  await client.send(new PostToConnectionCommand({ ConnectionId: event.requestContext.connectionId, Data: data }));
  return { statusCode: 200 };
};`;

/**
 * An app with the `query` route (an asset directory) and the `whoami` route (inline code), both using the AWS SDK, and
 * a function the query route names in its environment (`WORKER`, run by name through the Invoke API).
 */
function appWithRoutes(id: string, nodeModules: boolean) {
  return synth((app) => {
    chatStack(app, id, {}, (stack, chat) => {
      const worker = new lambda.Function(stack, 'Worker', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        functionName: `${id.toLowerCase()}-worker`,
        code: lambda.Code.fromInline('exports.handler = async (event, context) => ({ echo: event, name: context.functionName });'),
      });
      chat.addRoute('query', queryFunction(stack, 'Query', { GREETING: Fn.importValue('GreetingOfAnotherStack'), WORKER: worker.functionArn }));
      chat.addRoute('whoami', new lambda.Function(stack, 'WhoAmI', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline(WHOAMI) }));
    });
  }, { nodeModules });
}

function lambdaClient(gateway: LocalGateway): LambdaClient {
  const client = new LambdaClient({ endpoint: gateway.lambdaEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  open.push({ close: () => client.destroy() });
  return client;
}

async function invoke(client: LambdaClient, name: string, payload: unknown): Promise<unknown> {
  const out = await client.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)) }));
  expect(out.FunctionError).toBeUndefined();
  return JSON.parse(Buffer.from(out.Payload!).toString('utf8'));
}

describe("an app with its own routes (an asset, inline code), whose handlers use the AWS SDK from the app's node_modules", () => {
  const synthesized = appWithRoutes('QueryApp', true);

  test("the app's route answers through @connections, with the authorizer's user; the built-in routes work alongside", async () => {
    const app = loadCloudAssemblyApp(synthesized.outdir, { env: { GREETING: 'hello from --env' } });
    expect(app.warnings).toEqual([]);
    const gateway = await start(app);
    const alice = await connect(gateway, 'alice');
    const bob = await connect(gateway, 'bob');

    alice.send({ action: 'query', q: 'what is new?' });
    const [answer] = await alice.waitFor((f) => f.action === 'queryResult');
    expect(answer).toMatchObject({ question: 'what is new?', user_id: 'alice', greeting: 'hello from --env' });
    // CONNECTIONS_TABLE reached the handler as the local table's name.
    expect(answer.table).toBe(app.tables.find((t) => t.spec.id === 'connections')!.name);

    alice.send({ action: 'sendMessage', message: 'hi bob' });
    const [message] = await bob.waitFor((f) => f.action === 'message');
    expect(message).toMatchObject({ user_id: 'alice', room_id: 'lobby', message: 'hi bob' });
    bob.send({ action: 'ping' });
    await bob.waitFor((f) => f.action === 'pong');

    // Inline code lives in a temporary directory: it finds the SDK through the app's node_modules only.
    bob.send({ action: 'whoami' });
    const [you] = await bob.waitFor((f) => f.action === 'you');
    expect(you.user_id).toBe('bob');
  });

  test("the Invoke API answers to the app's names: publish reaches a room, a function by its FunctionName, logical ID or ARN", async () => {
    const app = loadCloudAssemblyApp(synthesized.outdir, { env: { GREETING: 'x' } });
    const gateway = await start(app);
    const client = lambdaClient(gateway);
    const frank = await connect(gateway, 'frank', 'news');
    expect(await invoke(client, 'publish', { room_id: 'news', type: 'headline', data: { title: 'local' } })).toMatchObject({ delivered: 1 });
    const [event] = await frank.waitFor((f) => f.action === 'event');
    expect(event).toMatchObject({ type: 'headline', data: { title: 'local' }, room_id: 'news' });

    const worker = app.functions.find((f) => f.name.startsWith('Worker'))!;
    for (const name of ['queryapp-worker', worker.name, `arn:aws:lambda:us-east-1:000000000000:function:${worker.name}`]) {
      expect(await invoke(client, name, { n: 1 })).toEqual({ echo: { n: 1 }, name: worker.name });
    }
  });

  test('an environment reference the gateway cannot resolve is a warning, and the handler runs without it', async () => {
    const app = loadCloudAssemblyApp(synthesized.outdir);
    expect(app.warnings).toEqual([expect.stringMatching(/^GREETING of function Query \(Query[0-9A-F]+\) is Fn::ImportValue GreetingOfAnotherStack .*set it with --env GREETING=VALUE$/)]);
    const gateway = await start(app);
    const carol = await connect(gateway, 'carol');
    carol.send({ action: 'query', q: 'anyone?' });
    const [answer] = await carol.waitFor((f) => f.action === 'queryResult');
    expect(answer.greeting).toBeUndefined();
  });
});

test("without the SDK in the app's node_modules, the handler's own error says so at invoke time", async () => {
  const synthesized = appWithRoutes('NoSdkApp', false);
  const app = loadCloudAssemblyApp(synthesized.outdir, { env: { GREETING: 'x' } });
  const gateway = await start(app);
  const errors: Error[] = [];
  gateway.events.on('handlerError', ({ error }) => errors.push(error));
  const erin = await connect(gateway, 'erin');
  erin.send({ action: 'whoami' });
  await erin.waitFor((f) => f.action === 'error' || f.message === 'Internal server error');
  expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("Cannot find module '@aws-sdk/client-apigatewaymanagementapi'")]);
  // The built-in handlers bring their own SDK.
  erin.send({ action: 'ping' });
  await erin.waitFor((f) => f.action === 'pong');
});

describe('a ChatAuth.jwks app', () => {
  const synthesized = synth((app) => {
    chatStack(app, 'JwksApp', {
      auth: ChatAuth.jwks({ jwksUrl: 'https://idp.example.com/.well-known/jwks.json', issuer: 'https://idp.example.com/', audience: ['chat'] }),
    });
  });

  test("runs with the gateway's local key pair: its dev token is accepted, a token signed by another key gets 401", async () => {
    const app = loadCloudAssemblyApp(synthesized.outdir);
    const gateway = await start(app);
    expect(gateway.auth.mode).toBe('jwks');

    const dana = await connect(gateway, 'dana');
    dana.send({ action: 'ping' });
    await dana.waitFor((f) => f.action === 'pong');

    const { privateKey } = await generateKeyPair('RS256');
    const forged = await signToken(privateKey, { sub: 'mallory', iss: 'https://idp.example.com/', aud: 'chat' }, { alg: 'RS256', kid: 'other-key' });
    const refused = TestClient.connect(`${gateway.url}?room_id=lobby&token=${forged}`);
    await expect(refused).rejects.toBeInstanceOf(HandshakeRejected);
    await expect(refused).rejects.toMatchObject({ statusCode: 401 });
  });

  test("with --jwks-url, the authorizer verifies the identity provider's tokens (here a key set served by the test)", async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-key', alg: 'RS256', use: 'sig' }] });
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;

    const gateway = await start(loadCloudAssemblyApp(synthesized.outdir, { jwksUrl }));
    expect(gateway.auth).toMatchObject({ mode: 'jwks', jwksUrl, canSign: false });
    const token = await signToken(privateKey, { sub: 'gina', iss: 'https://idp.example.com/', aud: 'chat' }, { alg: 'RS256', kid: 'idp-key' });
    const gina = await TestClient.connect(`${gateway.url}?room_id=lobby&token=${token}`);
    open.push({ close: () => gina.ws.close() });
    gina.send({ action: 'ping' });
    await gina.waitFor((f) => f.action === 'pong');
    // The wrong audience is refused as on AWS.
    const wrongAudience = await signToken(privateKey, { sub: 'gina', iss: 'https://idp.example.com/', aud: 'other' }, { alg: 'RS256', kid: 'idp-key' });
    await expect(TestClient.connect(`${gateway.url}?room_id=lobby&token=${wrongAudience}`)).rejects.toMatchObject({ statusCode: 401 });
  });
});
