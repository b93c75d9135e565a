/** Where log lines go: one JSON document per line. */
export type LogSink = (line: string) => void;

/** Writes straight to stdout (no console prefix), so CloudWatch parses each line as JSON (and as EMF). */
export const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/** A structured log record. Never put tokens or message text in one. */
export interface LogRecord {
  readonly level: 'info' | 'warn' | 'error';
  /** What happened, e.g. `authorize`, `connect`, `sendMessage`. */
  readonly event: string;
  readonly [field: string]: unknown;
}

export type Logger = (record: LogRecord) => void;

/** A logger writing one JSON line per record to `sink`. */
export function createLogger(sink: LogSink = stdoutSink): Logger {
  return (record) => sink(JSON.stringify(record));
}

/** Loggable fields of an error: its name, code and HTTP status, and its message (never a request or a token). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { errorName: typeof err };
  const { name, message, code, $metadata } = err as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  return {
    errorName: typeof name === 'string' ? name : 'Error',
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    ...($metadata?.httpStatusCode ? { errorStatus: $metadata.httpStatusCode } : {}),
    ...(typeof message === 'string' ? { errorMessage: message.slice(0, 300) } : {}),
  };
}
