import { ConfigError, readAuthConfig, readRouteConfig } from '../../../src/handlers/lib/config';
import { DEFAULTS } from '../../../src/shared/contract';

describe('readRouteConfig', () => {
  test('defaults come from the contract', () => {
    expect(readRouteConfig({ CONNECTIONS_TABLE: 't' })).toEqual({
      tableName: 't',
      managementEndpoint: '',
      connectionTtlSeconds: DEFAULTS.connectionTtlSeconds,
      maxMessageBytes: DEFAULTS.maxMessageBytes,
      fanoutConcurrency: DEFAULTS.fanoutConcurrency,
      postMaxAttempts: DEFAULTS.postMaxAttempts,
      postTimeoutMs: DEFAULTS.postTimeoutMs,
      postBackoffBaseMs: DEFAULTS.postBackoffBaseMs,
      metricsNamespace: DEFAULTS.metricsNamespace,
      validActions: ['sendMessage', 'ping', 'join', 'leave', 'presence', 'history'],
      messagesTable: undefined,
      historyRetentionSeconds: DEFAULTS.historyRetentionSeconds,
      maxRoomsPerConnection: DEFAULTS.maxRoomsPerConnection,
      presenceEventsMaxConnections: DEFAULTS.presenceEventsMaxConnections,
      fanoutWorkerFunction: undefined,
      shardThreshold: DEFAULTS.shardThreshold,
      maxFanoutWorkers: DEFAULTS.maxFanoutWorkers,
      fanoutRateBudget: DEFAULTS.fanoutRateBudget,
    });
    expect(DEFAULTS.connectionTtlSeconds).toBe(2 * 3600 + 300);
  });

  test('reads every variable', () => {
    expect(
      readRouteConfig({
        CONNECTIONS_TABLE: 't',
        MANAGEMENT_ENDPOINT: 'http://127.0.0.1:1/dev',
        CONNECTION_TTL_SECONDS: '600',
        MAX_MESSAGE_BYTES: '100',
        FANOUT_CONCURRENCY: '7',
        POST_MAX_ATTEMPTS: '1',
        POST_TIMEOUT_MS: '250',
        POST_BACKOFF_BASE_MS: '0',
        METRICS_NAMESPACE: 'Mine',
        VALID_ACTIONS: 'sendMessage, ping,typing',
      }),
    ).toMatchObject({
      managementEndpoint: 'http://127.0.0.1:1/dev',
      connectionTtlSeconds: 600,
      maxMessageBytes: 100,
      fanoutConcurrency: 7,
      postMaxAttempts: 1,
      postTimeoutMs: 250,
      postBackoffBaseMs: 0,
      metricsNamespace: 'Mine',
      validActions: ['sendMessage', 'ping', 'typing'],
    });
  });

  test.each([['FANOUT_CONCURRENCY', '0'], ['FANOUT_CONCURRENCY', 'ten'], ['POST_TIMEOUT_MS', '1.5'], ['MAX_MESSAGE_BYTES', '-1'], ['POST_BACKOFF_BASE_MS', '-5']])(
    '%s=%s is a configuration error',
    (name, value) => {
      expect(() => readRouteConfig({ [name]: value })).toThrow(ConfigError);
    },
  );
});

describe('readAuthConfig', () => {
  test('hs256 pins HS256', () => {
    expect(readAuthConfig({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: 'arn', AUTH_ALGORITHMS: 'RS256' })).toMatchObject({
      mode: 'hs256',
      secretArn: 'arn',
      algorithms: ['HS256'],
      userIdClaim: 'sub',
      clockToleranceSeconds: DEFAULTS.clockToleranceSeconds,
      audience: [],
    });
  });

  test('jwks defaults to RS256 and reads the claims settings', () => {
    expect(
      readAuthConfig({
        AUTH_MODE: 'jwks',
        AUTH_JWKS_URL: 'https://idp.example/jwks.json',
        AUTH_ISSUER: 'https://idp.example/',
        AUTH_AUDIENCE: 'a, b,',
        USER_ID_CLAIM: 'uid',
        ROOMS_CLAIM: 'rooms',
        CLOCK_TOLERANCE_SECONDS: '0',
      }),
    ).toEqual({
      mode: 'jwks',
      jwksUrl: 'https://idp.example/jwks.json',
      issuer: 'https://idp.example/',
      audience: ['a', 'b'],
      algorithms: ['RS256'],
      userIdClaim: 'uid',
      roomsClaim: 'rooms',
      clockToleranceSeconds: 0,
      maxTokenLifetimeSeconds: undefined,
      rejectFutureIat: false,
    });
  });
});
