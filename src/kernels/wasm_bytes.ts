/**
 * Decoding of the embedded kernel modules (base64 in the generated *_wasm_bytes.ts
 * files), once per module and variant.
 */

/** Which build of a kernel module: over an ordinary memory, or over a shared one (kernel threads). */
export type ModuleVariant = 'plain' | 'shared';

function decode(base64: string): Uint8Array<ArrayBuffer> {
  // atob is global in browsers and Node >= 16.
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A getter of a module's bytes by variant, decoding each base64 string on first use.
 * Caveat: it returns the same array on every call; do not modify it.
 *
 * @example
 * export const gemmWasmBytes = embeddedModule(GEMM_WASM_BASE64, GEMM_WASM_SHARED_BASE64);
 */
export function embeddedModule(plain: string, shared: string): (variant?: ModuleVariant) => Uint8Array<ArrayBuffer> {
  const cache: Partial<Record<ModuleVariant, Uint8Array<ArrayBuffer>>> = {};
  return (variant = 'plain') => (cache[variant] ??= decode(variant === 'shared' ? shared : plain));
}

/**
 * A check, made once per process, that this runtime's WebAssembly validates the bytes
 * `bytes()` returns (false without WebAssembly, or when validating throws).
 *
 * @example
 * export const wasmSimdSupported = validatesOnce(() => sparseWasmBytes());
 */
export function validatesOnce(bytes: () => Uint8Array<ArrayBuffer>): () => boolean {
  let valid: boolean | null = null;
  return () => {
    if (valid === null) {
      try {
        valid = typeof WebAssembly === 'object' && WebAssembly.validate(bytes());
      } catch {
        valid = false;
      }
    }
    return valid;
  };
}
