/**
 * API Gateway's 32 KB limit on one WebSocket *frame* (its 128 KB limit is on a whole message, which may span
 * several frames). `ws` checks only the message (`maxPayload` counts the payload of all fragments) and exposes no
 * per-frame hook, so this reads the frame headers itself: it follows the client's byte stream (a `data` listener
 * prepended before ws's own, so it sees every chunk first), parses each frame header (RFC 6455 §5.2: 2 bytes, a
 * 16- or 64-bit extended length, a 4-byte mask key) and skips the payload without copying or unmasking it. A data
 * frame (text, binary or continuation) longer than the limit is reported before ws has delivered any message it
 * belongs to; control frames are at most 125 bytes by the protocol (ws enforces that).
 */
/* eslint-disable no-bitwise -- frame headers are bit fields (RFC 6455 §5.2) */
export class FrameSizeGuard {
  private readonly header = Buffer.alloc(14);
  private have = 0;
  private skip = 0;
  private tripped = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onTooLarge: (payloadLength: number) => void,
  ) {}

  /** Feeds the next chunk of the client's stream. */
  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.tripped) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      this.header[this.have++] = chunk[i++];
      const needed = this.headerLength();
      if (needed === undefined || this.have < needed) continue;
      const opcode = this.header[0] & 0x0f;
      const length = this.payloadLength();
      this.have = 0;
      if (opcode < 0x08 && length > this.maxFrameBytes) {
        this.tripped = true;
        this.onTooLarge(length);
        return;
      }
      this.skip = length;
    }
  }

  /** The length of the frame header being read, once its first two bytes are known. */
  private headerLength(): number | undefined {
    if (this.have < 2) return undefined;
    const len7 = this.header[1] & 0x7f;
    const masked = (this.header[1] & 0x80) !== 0;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  private payloadLength(): number {
    const len7 = this.header[1] & 0x7f;
    if (len7 === 126) return this.header.readUInt16BE(2);
    if (len7 === 127) return this.header.readUInt32BE(2) * 2 ** 32 + this.header.readUInt32BE(6);
    return len7;
  }
}
