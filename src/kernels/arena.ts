/**
 * The workspace the sparse kernels work in: one growable buffer, handed out as
 * 16-byte aligned typed-array views by a bump allocator.
 *
 * The wasm kernels can only see their `WebAssembly.Memory`, so every array they
 * get must be a view of it; the js kernels use the same allocator over a plain
 * `ArrayBuffer`, so code written against one runs unchanged on the other.
 */

/**
 * A workspace of typed arrays the kernels accept. Views are valid until the next reset().
 *
 * Caveats: each array takes `4·n` bytes rounded up to 16 ({@link arenaBytes}
 * sizes a reset for a list of lengths); reset() reuses the memory of every
 * earlier view, and a growing reset of a wasm arena detaches them (length 0).
 *
 * @example
 * kernels.arena.reset(arenaBytes([p * B, B]));
 * const x = kernels.arena.f32(p * B), dots = kernels.arena.f32(B);
 */
export interface KernelArena {
  /** Drops all allocations and makes room for at least `bytes` bytes (may grow and so detach earlier views). */
  reset(bytes: number): void;
  /**
   * A Float32Array of length n from the workspace (16-byte aligned), zero-filled unless
   * `zero` is false (then it holds whatever the memory held: only for arrays the caller
   * writes before it reads them; {@link ARENA_POISON} fills them with NaN to check that).
   * Throws a clear Error if the reset() capacity is exceeded.
   */
  f32(n: number, zero?: boolean): Float32Array;
  /** A zero-filled Int32Array of length n (16-byte aligned). */
  i32(n: number): Int32Array;
}

/**
 * Alignment, in bytes, of every array an arena hands out (one v128).
 *
 * @example
 * arena.f32(3).byteOffset % ARENA_ALIGN === 0; // true
 */
export const ARENA_ALIGN = 16;

/**
 * Test switch: when `enabled`, arrays taken with `f32(n, false)` are filled with NaN
 * instead of keeping old contents, so a solve that reads one before writing it fails
 * loudly (the tests run the host engine with it on; `NM_ARENA_POISON=1` turns it on).
 *
 * @example
 * ARENA_POISON.enabled = true;
 */
export const ARENA_POISON = {
  enabled: typeof process === 'object' && (process as { env?: Record<string, string | undefined> }).env?.NM_ARENA_POISON === '1',
};

const PAGE = 65536;
/** The largest wasm32 memory: 65536 pages of 64 KiB. */
const MAX_PAGES = 65536;

/**
 * The `reset()` size that fits arrays of the given lengths (4-byte elements,
 * each rounded up to {@link ARENA_ALIGN} bytes), in any order.
 *
 * @example
 * arena.reset(arenaBytes([p * B, p * B, B]));
 * const x = arena.f32(p * B), out = arena.f32(p * B), dots = arena.f32(B);
 */
export function arenaBytes(lengths: readonly number[]): number {
  let total = 0;
  for (const n of lengths) total += Math.ceil((n * 4) / ARENA_ALIGN) * ARENA_ALIGN;
  return total;
}

/** Where an arena's bytes live (a plain ArrayBuffer or a WebAssembly.Memory). */
interface Backing {
  /** The current buffer. */
  buffer(): ArrayBuffer;
  /** Makes the buffer at least `bytes` long; returns the (possibly new) buffer. */
  grow(bytes: number): ArrayBuffer;
}

/**
 * A bump allocator over one buffer; implements {@link KernelArena}.
 *
 * Caveats: `reset()` invalidates every view handed out before it (its memory is
 * reused, and a growing reset detaches wasm views, which then have length 0).
 * Each array takes `4·n` bytes rounded up to 16, so size resets with
 * {@link arenaBytes}. Not thread-safe or re-entrant: one user at a time.
 *
 * @example
 * const arena = TypedArena.plain();
 * arena.reset(arenaBytes([12, 3]));
 * const a = arena.f32(12), ptr = arena.i32(3);
 */
export class TypedArena implements KernelArena {
  private capacity = 0;
  private offset = 0;

  private constructor(
    private readonly backing: Backing,
    /** The wasm memory behind this arena, or null for a plain ArrayBuffer. */
    readonly memory: WebAssembly.Memory | null,
  ) {}

  /**
   * An arena over a plain, growable-by-replacement ArrayBuffer (for the js kernels).
   *
   * @example
   * const arena = TypedArena.plain();
   */
  static plain(): TypedArena {
    let buf = new ArrayBuffer(0);
    return new TypedArena(
      {
        buffer: () => buf,
        grow: (bytes) => (buf = new ArrayBuffer(Math.ceil(bytes / PAGE) * PAGE)),
      },
      null,
    );
  }

  /**
   * An arena over a WebAssembly.Memory, which `reset()` grows with `memory.grow`
   * (detaching every earlier view of it).
   *
   * @example
   * const memory = new WebAssembly.Memory({ initial: 1 });
   * const arena = TypedArena.wasm(memory);
   */
  static wasm(memory: WebAssembly.Memory): TypedArena {
    return new TypedArena(
      {
        buffer: () => memory.buffer,
        grow: (bytes) => {
          const have = memory.buffer.byteLength / PAGE;
          const need = Math.ceil(bytes / PAGE);
          if (need > MAX_PAGES) {
            throw new Error(`KernelArena.reset(${bytes}): more than the 4 GiB a wasm32 memory can hold.`);
          }
          try {
            memory.grow(need - have);
          } catch (err) {
            throw new Error(`KernelArena.reset(${bytes}): could not grow the wasm memory to ${need} pages (${String(err)}).`);
          }
          return memory.buffer;
        },
      },
      memory,
    );
  }

  /** The buffer every current view lives in. */
  get buffer(): ArrayBuffer {
    return this.backing.buffer();
  }

  /**
   * Drops all allocations and makes room for at least `bytes` bytes.
   * Caveat: may grow the buffer and so detach (wasm) or orphan (plain) earlier views.
   */
  reset(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new Error(`KernelArena.reset: 'bytes' must be an integer >= 0; received ${String(bytes)}.`);
    }
    if (this.backing.buffer().byteLength < bytes) this.backing.grow(bytes);
    this.capacity = bytes;
    this.offset = 0;
  }

  /** A Float32Array of length n (16-byte aligned), zero-filled unless `zero` is false; throws if the reset() capacity is exceeded. */
  f32(n: number, zero = true): Float32Array {
    const view = new Float32Array(this.backing.buffer(), this.take(n, 'f32'), n);
    if (zero) view.fill(0);
    else if (ARENA_POISON.enabled) view.fill(NaN);
    return view;
  }

  /** A zero-filled Int32Array of length n (16-byte aligned); throws if the reset() capacity is exceeded. */
  i32(n: number): Int32Array {
    const view = new Int32Array(this.backing.buffer(), this.take(n, 'i32'), n);
    view.fill(0);
    return view;
  }

  /** Reserves n 4-byte elements; returns their byte offset. */
  private take(n: number, what: string): number {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`KernelArena.${what}: 'n' must be an integer >= 0; received ${String(n)}.`);
    }
    const start = this.offset;
    const end = start + Math.ceil((n * 4) / ARENA_ALIGN) * ARENA_ALIGN;
    if (end > this.capacity) {
      throw new Error(
        `KernelArena.${what}(${n}): needs ${end - start} bytes but only ${this.capacity - start} of the ` +
          `${this.capacity} reserved by the last reset() are left. Reserve more with reset(arenaBytes([...all lengths])).`,
      );
    }
    this.offset = end;
    return start;
  }
}
