/**
 * A cloud assembly the local gateway cannot run (no chat in it, several without `--stack`, a function it cannot
 * run): the CLI prints the message and exits non-zero.
 */
export class AppLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppLoadError';
  }
}
