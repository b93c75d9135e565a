/* eslint-disable no-bitwise -- frame headers are bit fields */
import { FrameSizeGuard } from '../../src/local/frame-guard';

/** The frame-size check on the raw client stream (RFC 6455 §5.2 headers), fed in chunks of any size. */

/** A client frame (masked) with `length` payload bytes. */
function frame(opcode: number, length: number, fin = true): Buffer {
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  if (length < 126) {head.push(0x80 | length);} else if (length < 65536) {head.push(0x80 | 126, length >> 8, length & 0xff);} else {
    const big = Buffer.alloc(8);
    big.writeUInt32BE(Math.floor(length / 2 ** 32), 0);
    big.writeUInt32BE(length % 2 ** 32, 4);
    head.push(0x80 | 127, ...big);
  }
  return Buffer.concat([Buffer.from(head), Buffer.from([1, 2, 3, 4]), Buffer.alloc(length, 0x61)]);
}

function feed(stream: Buffer, chunkSize: number, max = 32 * 1024): number[] {
  const seen: number[] = [];
  const guard = new FrameSizeGuard(max, (length) => seen.push(length));
  for (let i = 0; i < stream.length; i += chunkSize) guard.push(stream.subarray(i, i + chunkSize));
  return seen;
}

test.each([1, 3, 7, 1000, 65536, 1 << 20])('frames within the limit pass, whatever the chunking (%i-byte chunks)', (chunk) => {
  const stream = Buffer.concat([
    frame(0x1, 10), frame(0x1, 125), frame(0x2, 126), frame(0x1, 32 * 1024, false), frame(0x0, 32 * 1024, false),
    frame(0x0, 1), frame(0x9, 4), frame(0xa, 0), frame(0x1, 65535 - 65535 + 32768),
  ]);
  expect(feed(stream, chunk)).toEqual([]);
});

test.each([1, 5, 4096])('the first data frame over the limit is reported once (%i-byte chunks)', (chunk) => {
  expect(feed(Buffer.concat([frame(0x1, 100), frame(0x1, 32 * 1024 + 1), frame(0x1, 40000)]), chunk)).toEqual([32 * 1024 + 1]);
  expect(feed(Buffer.concat([frame(0x1, 10, false), frame(0x0, 70000)]), chunk)).toEqual([70000]);
});

test('a 64-bit length is read whole', () => {
  const header = Buffer.from([0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
  expect(feed(header, 3)).toEqual([2 ** 32]);
});
