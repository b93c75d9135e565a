import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The HS256 key could not be loaded (a server-side fault, not a bad token). */
export class KeyUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyUnavailableError';
  }
}

/**
 * Reads the HS256 key from Secrets Manager: the whole `SecretString`, or its JSON field `field` when given
 * (a `SecretBinary` is used as is when there is no `SecretString` and no field).
 */
export async function loadSecretKey(client: SecretsManagerClient, secretId: string, field?: string, versionStage?: string): Promise<Uint8Array> {
  let out;
  try {
    out = await client.send(new GetSecretValueCommand({ SecretId: secretId, ...(versionStage ? { VersionStage: versionStage } : {}) }));
  } catch (err) {
    throw new KeyUnavailableError(`GetSecretValue failed: ${(err as Error).name}`, { cause: err });
  }
  if (out.SecretString === undefined) {
    if (!field && out.SecretBinary && out.SecretBinary.length >= MIN_HS256_KEY_BYTES) return Uint8Array.from(out.SecretBinary);
    throw new KeyUnavailableError('the secret has no SecretString');
  }
  let key = out.SecretString;
  if (field) {
    let value: unknown;
    try {
      value = (JSON.parse(key) as Record<string, unknown> | null)?.[field];
    } catch {
      throw new KeyUnavailableError('the SecretString is not JSON, but a secret field is configured');
    }
    if (typeof value !== 'string') throw new KeyUnavailableError(`the secret has no string field ${JSON.stringify(field)}`);
    key = value;
  }
  const bytes = new TextEncoder().encode(key);
  if (bytes.length < MIN_HS256_KEY_BYTES) {
    // RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output. A short key is a setup fault
    // (every connection then fails with 500, and the log says why), never a silently weak signature check.
    throw new KeyUnavailableError(`the HS256 key is ${bytes.length} bytes; at least ${MIN_HS256_KEY_BYTES} (256 bits) are required`);
  }
  return bytes;
}

/** RFC 7518 §3.2: an HS256 key has at least 256 bits. */
export const MIN_HS256_KEY_BYTES = 32;

export interface RefreshingKeyOptions {
  /** Least time between two loads forced by {@link RefreshingKey.refresh}. @default 60000 */
  readonly minRefreshIntervalMs?: number;
  /**
   * A cached key older than this is loaded again on its next use (a key retired by a rotation stops working within
   * this time even when no bad signature forces a reload). A failed reload keeps the old key. @default - never
   */
  readonly maxAgeMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A key loaded once and kept in memory (module scope: it survives across invocations), with a rate-limited
 * {@link refresh} so a rotated secret is picked up without hammering Secrets Manager with every bad token.
 */
export class RefreshingKey {
  private key: Promise<Uint8Array> | undefined;
  private lastLoadMs = Number.NEGATIVE_INFINITY;
  private readonly minRefreshIntervalMs: number;
  private readonly maxAgeMs?: number;
  private readonly now: () => number;

  constructor(private readonly loader: () => Promise<Uint8Array>, options: RefreshingKeyOptions = {}) {
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 60_000;
    this.maxAgeMs = options.maxAgeMs;
    this.now = options.now ?? Date.now;
  }

  /** The cached key, loading it on first use (or after a failed load, or once it is older than `maxAgeMs`). */
  public async current(): Promise<Uint8Array> {
    if (this.key && this.stale()) {
      const old = this.key;
      return (await this.reload()) ?? old;
    }
    return this.key ?? this.load();
  }

  /** Forgets the cached key: the next use loads it again (e.g. the previous version, once the current one changed). */
  public invalidate(): void {
    this.key = undefined;
    this.lastLoadMs = Number.NEGATIVE_INFINITY;
  }

  private stale(): boolean {
    return this.maxAgeMs !== undefined && this.now() - this.lastLoadMs > this.maxAgeMs;
  }

  /**
   * The cached key; else a load, unless the last one was less than `minRefreshIntervalMs` ago (a missing version,
   * e.g. no `AWSPREVIOUS`, is then not asked for again on every bad token).
   * @returns the key, or undefined when it cannot be had now
   */
  public async cachedOrLoad(): Promise<Uint8Array | undefined> {
    if (this.key && !this.stale()) return this.key.catch(() => undefined);
    if (!this.key && this.now() - this.lastLoadMs < this.minRefreshIntervalMs) return undefined;
    return this.load().catch(() => undefined);
  }

  /**
   * Reloads the key unless the last load was less than `minRefreshIntervalMs` ago.
   * @returns the reloaded key, or undefined when rate-limited or the reload failed (the old key is kept)
   */
  public async refresh(): Promise<Uint8Array | undefined> {
    if (this.now() - this.lastLoadMs < this.minRefreshIntervalMs) return undefined;
    return this.reload();
  }

  /** Loads the key again; a failed load keeps the key held before it, and answers undefined. */
  private async reload(): Promise<Uint8Array | undefined> {
    const previous = this.key;
    try {
      return await this.load();
    } catch {
      this.key = previous;
      return undefined;
    }
  }

  private load(): Promise<Uint8Array> {
    this.lastLoadMs = this.now();
    const loading = this.loader();
    this.key = loading;
    // A failed load is not cached: the next call tries again.
    loading.catch(() => {
      if (this.key === loading) this.key = undefined;
    });
    return loading;
  }
}
