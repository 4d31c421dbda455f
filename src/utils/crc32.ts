/**
 * CRC-32 (IEEE 802.3, the checksum of zlib and PNG), used by the PNG encoder and by
 * the save journal of `nm.io.fileSystem`.
 */
import { checkInt, fail } from './errors.js';

let table: Uint32Array | null = null;

/** CRC-32 of `bytes[start, end)`; bad arguments throw a ConfigError. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes?.length): number {
  if (!(bytes instanceof Uint8Array)) fail('crc32', 'bytes', bytes, 'a Uint8Array');
  checkInt('crc32', 'end', end, 0, bytes.length);
  checkInt('crc32', 'start', start, 0, end);
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
