import { Token, Tokenization, type Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AUTH_MODES, DEFAULTS, ENV } from './shared/contract';
import { identitySources } from './shared/spec';

/** Claim options shared by every token-verifying `ChatAuth`. */
export interface ChatAuthClaimOptions {
  /**
   * Accepted `aud` values: the token must carry at least one of them.
   *
   * @default - the audience is not checked
   */
  readonly audience?: string[];

  /**
   * Claim that carries the user id. The user of a connection is always taken from the verified token,
   * never from the query string.
   *
   * @default 'sub'
   */
  readonly userIdClaim?: string;

  /**
   * Claim that lists the rooms the user may join (an array of room ids, or `*` for any room). When set,
   * a connection to a room not listed is rejected with 403 at the handshake.
   *
   * @default - rooms are not restricted
   */
  readonly roomsClaim?: string;

  /**
   * Clock skew tolerated when checking `exp` and `nbf`, in seconds.
   *
   * @default 5
   */
  readonly clockToleranceSeconds?: number;

  /**
   * Longest accepted token lifetime (`exp` − `iat`): a token issued for longer is refused with 401. Caps the damage
   * of a leaked long-lived token (the token travels in the connect URL).
   *
   * @default - the lifetime is not checked
   */
  readonly maxTokenLifetime?: Duration;

  /**
   * Refuse a token whose `iat` lies in the future (beyond `clockToleranceSeconds`): a sign of a skewed or forged
   * issuer.
   *
   * @default false
   */
  readonly rejectFutureIssuedAt?: boolean;
}

/** Options of `ChatAuth.hs256`. */
export interface Hs256AuthOptions extends ChatAuthClaimOptions {
  /**
   * Required `iss` claim.
   *
   * @default - the issuer is not checked
   */
  readonly issuer?: string;

  /**
   * The secret that holds the HS256 key, at least 32 bytes (256 bits, RFC 7518; a `secretsmanager.Secret`
   * generated with the default settings has 32 characters). The authorizer reads it once per cold start, caches
   * it, and re-reads it at most once a minute when a signature does not verify, so rotation works.
   */
  readonly secret: secretsmanager.ISecret;

  /**
   * A JSON field of the secret's value that holds the key (for secrets stored as JSON objects).
   *
   * @default - the whole `SecretString` is the key
   */
  readonly secretField?: string;
}

/** Options of `ChatAuth.jwks`. */
export interface JwksAuthOptions extends ChatAuthClaimOptions {
  /** URL of the issuer's JSON Web Key Set, e.g. `https://issuer/.well-known/jwks.json`. */
  readonly jwksUrl: string;

  /** Required `iss` claim. */
  readonly issuer: string;

  /**
   * Accepted signature algorithms (always pinned: `none` and HMAC algorithms are never accepted
   * with a JWKS).
   *
   * @default ['RS256']
   */
  readonly algorithms?: string[];
}

/** What a `ChatAuth` contributes to the authorizer function. @internal */
export interface ChatAuthBinding {
  /** The authorizer's environment (names from the shared contract's `ENV`). */
  readonly environment: Record<string, string>;
  readonly demoMode: boolean;
  /** API Gateway identity sources of the `$connect` authorizer (all must be present, or 401 without a call). */
  readonly identitySource: string[];
}

const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * How `$connect` is authorized: every connection must present a JWT (query string `token`), verified
 * by a Lambda REQUEST authorizer before any row is written.
 *
 * @example
 * declare const secret: secretsmanager.ISecret;
 * ChatAuth.hs256({ secret, issuer: 'https://auth.example.com/' });
 */
export class ChatAuth {
  /**
   * Tokens signed with HS256 using a key held in Secrets Manager. The algorithm is pinned to HS256.
   */
  public static hs256(options: Hs256AuthOptions): ChatAuth {
    return new ChatAuth(AUTH_MODES.hs256, options, (grantee) => {
      options.secret.grantRead(grantee);
      return {
        [ENV.authSecretArn]: options.secret.secretArn,
        ...(options.secretField ? { [ENV.authSecretField]: options.secretField } : {}),
      };
    });
  }

  /**
   * Tokens signed by an identity provider that publishes a JSON Web Key Set (Cognito, Auth0, Okta,
   * Entra ID, …). The key set is fetched and cached in the authorizer's module scope.
   */
  public static jwks(options: JwksAuthOptions): ChatAuth {
    if (!Token.isUnresolved(options.jwksUrl) && !/^https:\/\//.test(options.jwksUrl)) {
      throw new Error(`ChatAuth.jwks: jwksUrl must be an https:// URL, got "${options.jwksUrl}"`);
    }
    const algorithms = options.algorithms ?? ['RS256'];
    if (algorithms.length === 0) {
      throw new Error('ChatAuth.jwks: algorithms must list at least one algorithm');
    }
    const unsupported = algorithms.filter((a) => !ASYMMETRIC_ALGORITHMS.includes(a));
    if (unsupported.length > 0) {
      throw new Error(
        `ChatAuth.jwks: unsupported algorithm(s) ${unsupported.join(', ')}; use asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')})`,
      );
    }
    return new ChatAuth(AUTH_MODES.jwks, options, () => ({
      [ENV.authJwksUrl]: options.jwksUrl,
      [ENV.authAlgorithms]: algorithms.join(','),
    }));
  }

  /**
   * No authentication: anyone may connect, and gets an anonymous user id. For demos only — the
   * construct emits a synth warning when this is used. Never the default.
   */
  public static none(): ChatAuth {
    return new ChatAuth(AUTH_MODES.none, {}, () => ({}));
  }

  private constructor(
    private readonly mode: (typeof AUTH_MODES)[keyof typeof AUTH_MODES],
    private readonly claims: ChatAuthClaimOptions & { readonly issuer?: string },
    private readonly bindMode: (grantee: iam.IGrantable) => Record<string, string>,
  ) {
    const tolerance = claims.clockToleranceSeconds;
    if (tolerance !== undefined && (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 300)) {
      throw new Error(`ChatAuth: clockToleranceSeconds must be an integer from 0 to 300, got ${tolerance}`);
    }
    if (claims.userIdClaim !== undefined && claims.userIdClaim.trim() === '') {
      throw new Error('ChatAuth: userIdClaim must not be empty');
    }
    if (claims.audience?.some((a) => a.includes(','))) {
      throw new Error('ChatAuth: audience values must not contain commas');
    }
    const lifetime = claims.maxTokenLifetime;
    if (lifetime !== undefined && !lifetime.isUnresolved() && lifetime.toMilliseconds() < 1000) {
      throw new Error(`ChatAuth: maxTokenLifetime must be at least 1 second, got ${lifetime.toHumanString()}`);
    }
  }

  /**
   * Grants the authorizer what it needs and returns its environment.
   *
   * @internal
   */
  public _bind(grantee: iam.IGrantable): ChatAuthBinding {
    const c = this.claims;
    return {
      demoMode: this.mode === AUTH_MODES.none,
      // The token travels in the query string (browsers cannot set headers on a WebSocket); in demo mode, none.
      identitySource: identitySources(this.mode),
      environment: {
        [ENV.authMode]: this.mode,
        [ENV.userIdClaim]: c.userIdClaim ?? DEFAULTS.userIdClaim,
        [ENV.clockToleranceSeconds]: String(c.clockToleranceSeconds ?? DEFAULTS.clockToleranceSeconds),
        ...(c.issuer ? { [ENV.authIssuer]: c.issuer } : {}),
        ...(c.audience && c.audience.length > 0 ? { [ENV.authAudience]: c.audience.join(',') } : {}),
        ...(c.roomsClaim ? { [ENV.roomsClaim]: c.roomsClaim } : {}),
        ...(c.maxTokenLifetime ? { [ENV.maxTokenLifetimeSeconds]: Tokenization.stringifyNumber(c.maxTokenLifetime.toSeconds()) } : {}),
        ...(c.rejectFutureIssuedAt ? { [ENV.rejectFutureIat]: 'true' } : {}),
        ...this.bindMode(grantee),
      },
    };
  }
}
