import type { LogRecord, Logger } from '../../src/handlers/lib/log';

/** A logger that keeps records (and their serialized lines) in memory. */
export function captureLog(): { readonly log: Logger; readonly records: LogRecord[]; readonly lines: string[] } {
  const records: LogRecord[] = [];
  const lines: string[] = [];
  return {
    records,
    lines,
    log: (record) => {
      lines.push(JSON.stringify(record));
      records.push(JSON.parse(JSON.stringify(record)) as LogRecord);
    },
  };
}

/** Captures what is written to stdout while `fn` runs (the handlers' log sink), as lines. */
export async function captureStdout<T>(fn: () => Promise<T>): Promise<{ readonly result?: T; readonly error?: unknown; readonly lines: string[] }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write);
  try {
    const result = await fn();
    return { result, lines: splitLines(chunks) };
  } catch (error) {
    return { error, lines: splitLines(chunks) };
  } finally {
    spy.mockRestore();
  }
}

function splitLines(chunks: string[]): string[] {
  return chunks.join('').split('\n').filter((line) => line.length > 0);
}
