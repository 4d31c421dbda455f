/**
 * A minimal PNG encoder for 8-bit RGB images: signature, IHDR, one IDAT (zlib
 * deflate of unfiltered scanlines), IEND, each chunk with its CRC-32 (PNG
 * specification, ISO/IEC 15948). Deflate: Node's zlib (level 9) from the package's
 * Node entry, else the platform's `CompressionStream('deflate')` (browsers).
 *
 * When to use: to write the module pictures as PNG files in Node without a canvas or
 * an image library (`renderStructurePng`), or in a browser with `CompressionStream`.
 * Caveats: no alpha channel, no filtering (files are larger than an optimizing
 * encoder's, fine for diagrams); browser output is valid PNG but not byte-identical
 * to Node's (different deflate).
 *
 * @example
 * const rgb = new Uint8Array(2 * 1 * 3).fill(255); // a 2×1 white image
 * await writeFile('white.png', await encodePng({ width: 2, height: 1, rgb }));
 */
import { maybeNodeHost } from '../platform/host.js';
import { crc32 } from '../utils/crc32.js';
import { ConfigError } from '../utils/errors.js';

export { crc32 };

/** An 8-bit RGB raster, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** Encodes an RGB image as PNG bytes. */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const { width, height, rgb } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ConfigError(`encodePng: 'width' and 'height' must be integers >= 1; received ${width} × ${height}.`);
  }
  if (!(rgb instanceof Uint8Array) || rgb.length !== width * height * 3) {
    throw new ConfigError(`encodePng: 'rgb' must be a Uint8Array of width·height·3 = ${width * height * 3} bytes; received ${rgb?.length}.`);
  }
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // no interlace
  const idat = await deflate(raw);
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** zlib-format deflate: Node's zlib when the Node entry is loaded, else `CompressionStream`. */
async function deflate(raw: Uint8Array): Promise<Uint8Array> {
  const host = maybeNodeHost();
  if (host != null) return host.deflate(raw, 9);
  if (typeof CompressionStream === 'undefined') {
    throw new ConfigError('encodePng: no deflate available: load the package through its Node entry in Node, or use a browser with CompressionStream.');
  }
  const stream = new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
