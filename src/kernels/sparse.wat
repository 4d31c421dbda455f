;; Sparse compute kernels for the host solve engine: 128-bit WebAssembly SIMD (f32x4).
;;
;; Compiled, with sparse_elementwise.wat spliced in at the end, by `npm run
;; build:kernels` (scripts/build-kernels.mjs, wabt with SIMD enabled) into
;; src/kernels/sparse_wasm_bytes.ts; src/kernels/wasm_kernels.ts wraps
;; the exports. Keep the binary under 4 KB: browsers refuse larger synchronous
;; compiles on the main thread.
;;
;; Conventions
;; - Every pointer argument is a byte offset into the imported memory `env.memory`.
;; - Dense arrays are node-major [rows, B]: row k starts at base + k*B*4 bytes.
;;   B need not be a multiple of 4, so rows are only 4-byte aligned: every v128
;;   access is unaligned-tolerant (align=4 hint).
;; - Columns are processed in register-blocked chunks (16, then 4 columns); the
;;   B % 4 tail columns one at a time (spmm: with one overlapping 4-column chunk
;;   when B >= 4). Nothing is read or written outside a row's B elements.
;; - The wrapper validates argument ranges; the kernels trust them (an out-of-range
;;   idx value reads elsewhere in the memory or traps).
;; - Rounding matches js_kernels.ts bit for bit: spmm and axpyRows round every
;;   product and every sum to f32 (their FMA variant, built by scripts/wat_fma.mjs,
;;   fuses each product with its sum); dotRows multiplies and sums in f64. The
;;   element-wise kernels (relativeStep, addMul, andersonDiffs and the optimizer
;;   updates, in sparse_elementwise.wat; tanh in gemm_pointwise.wat) work on flat arrays of n
;;   floats; js_kernels.ts follows their operation and summation order.

(module
  (import "env" "memory" (memory 1))

  ;; spmm: out[k,b] = start[k,b] + sum_{e=ptr[k]}^{ptr[k+1]-1} w[e] * x[idx[e], b]
  ;;       for k in [lo, hi), b in [0, B); start = out adds to out, start = -1 starts
  ;;       every sum from +0 (an empty row then gets start's row, or zeros).
  ;; For each row and each chunk of 16 columns, the chunk of out stays in four
  ;; v128 accumulators while the row's nonzeros stream past (w[e] broadcast with
  ;; f32x4.splat); start is loaded and out stored once per chunk instead of once per
  ;; nonzero. The sum order per element is the same as the naive loop's.
  (func (export "spmm")
    (param $ptr i32) (param $idx i32) (param $w i32) (param $lo i32) (param $hi i32)
    (param $x i32) (param $start i32) (param $out i32) (param $B i32)
    (local $rb i32)   ;; row bytes, B*4
    (local $e16 i32)  ;; end (bytes) of the 16-column chunks
    (local $e4 i32)   ;; end (bytes) of the 4-column chunks
    (local $dw i32)   ;; w - idx: the w[e] address is (idx[e] address) + dw
    (local $k i32) (local $pk i32)
    (local $o i32)    ;; address of out row k
    (local $p0 i32) (local $pend i32) (local $pi i32)  ;; addresses in idx
    (local $b i32)    ;; byte offset of the current column chunk
    (local $xb i32) (local $xp i32)
    (local $wv v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $s f32)
    (local $tail i32) (local $t v128)  ;; see "Overlapping tail" below
    (local $z i32)    ;; 1 when start = -1 (sums start from zero)
    (local $ds i32)   ;; start - out: row k of start is at (out row k) + ds; 0 when z
    (local $so i32)   ;; address of start row k
    (local $zv v128) (local $zs f32)  ;; zeros (never set)
    (local.set $z (i32.eq (local.get $start) (i32.const -1)))
    ;; With z the loads below read out's own row (always in bounds) and select drops them.
    (local.set $ds (select (i32.const 0) (i32.sub (local.get $start) (local.get $out)) (local.get $z)))
    (local.set $rb (i32.shl (local.get $B) (i32.const 2)))
    (local.set $e16 (i32.and (local.get $rb) (i32.const -64)))
    (local.set $e4 (i32.and (local.get $rb) (i32.const -16)))
    (local.set $dw (i32.sub (local.get $w) (local.get $idx)))
    (local.set $tail (i32.and (i32.ge_u (local.get $rb) (i32.const 16)) (i32.ne (local.get $rb) (local.get $e4))))
    (local.set $k (local.get $lo))
    (block $done
      (br_if $done (i32.ge_s (local.get $k) (local.get $hi)))
      (loop $row
        (local.set $pk (i32.add (local.get $ptr) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $p0 (i32.add (local.get $idx) (i32.shl (i32.load (local.get $pk)) (i32.const 2))))
        (local.set $pend (i32.add (local.get $idx) (i32.shl (i32.load offset=4 (local.get $pk)) (i32.const 2))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $rb))))
        (local.set $so (i32.add (local.get $o) (local.get $ds)))
        (local.set $b (i32.const 0))
        ;; Empty rows (and malformed, decreasing ptr) get start's row (untouched when
        ;; start = out); the nonzero loops below are do-while loops and need a nonzero.
        (if (i32.lt_u (local.get $p0) (local.get $pend))
          (then
            ;; Overlapping tail: when B >= 4 and B % 4 != 0, the last 4 columns
            ;; [B-4, B) are summed first, from the untouched out values, and kept
            ;; in $t; the chunks below then cover [0, B & ~3), and $t is stored
            ;; last. The overlapped columns get the same value twice (same
            ;; operands, same order), so this only replaces 1-3 scalar passes
            ;; over the nonzeros with one vector pass.
            (if (local.get $tail)
              (then
                (local.set $t (select (local.get $zv) (v128.load align=4 (i32.sub (i32.add (local.get $so) (local.get $rb)) (i32.const 16))) (local.get $z)))
                (local.set $xb (i32.sub (i32.add (local.get $x) (local.get $rb)) (i32.const 16)))
                (local.set $pi (local.get $p0))
                (loop $nzt
                  (local.set $t (f32x4.add (local.get $t)
                    (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $pi) (local.get $dw))))
                               (v128.load align=4 (i32.add (local.get $xb) (i32.mul (i32.load (local.get $pi)) (local.get $rb)))))))
                  (br_if $nzt (i32.lt_u (local.tee $pi (i32.add (local.get $pi) (i32.const 4))) (local.get $pend))))))
            ;; 16 columns at a time: 4 accumulators.
            (block $d16
              (br_if $d16 (i32.ge_u (local.get $b) (local.get $e16)))
              (loop $c16
                (local.set $xp (i32.add (local.get $so) (local.get $b)))
                (local.set $a0 (select (local.get $zv) (v128.load offset=0 align=4 (local.get $xp)) (local.get $z)))
                (local.set $a1 (select (local.get $zv) (v128.load offset=16 align=4 (local.get $xp)) (local.get $z)))
                (local.set $a2 (select (local.get $zv) (v128.load offset=32 align=4 (local.get $xp)) (local.get $z)))
                (local.set $a3 (select (local.get $zv) (v128.load offset=48 align=4 (local.get $xp)) (local.get $z)))
                (local.set $xb (i32.add (local.get $x) (local.get $b)))
                (local.set $pi (local.get $p0))
                (loop $nz16
                  (local.set $xp (i32.add (local.get $xb) (i32.mul (i32.load (local.get $pi)) (local.get $rb))))
                  (local.set $wv (f32x4.splat (f32.load (i32.add (local.get $pi) (local.get $dw)))))
                  (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $wv) (v128.load offset=0 align=4 (local.get $xp)))))
                  (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $wv) (v128.load offset=16 align=4 (local.get $xp)))))
                  (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $wv) (v128.load offset=32 align=4 (local.get $xp)))))
                  (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $wv) (v128.load offset=48 align=4 (local.get $xp)))))
                  (br_if $nz16 (i32.lt_u (local.tee $pi (i32.add (local.get $pi) (i32.const 4))) (local.get $pend))))
                (local.set $xp (i32.add (local.get $o) (local.get $b)))
                (v128.store offset=0 align=4 (local.get $xp) (local.get $a0))
                (v128.store offset=16 align=4 (local.get $xp) (local.get $a1))
                (v128.store offset=32 align=4 (local.get $xp) (local.get $a2))
                (v128.store offset=48 align=4 (local.get $xp) (local.get $a3))
                (br_if $c16 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 64))) (local.get $e16)))))
            ;; 4 columns at a time: 1 accumulator.
            (block $d4
              (br_if $d4 (i32.ge_u (local.get $b) (local.get $e4)))
              (loop $c4
                (local.set $a0 (select (local.get $zv) (v128.load align=4 (i32.add (local.get $so) (local.get $b))) (local.get $z)))
                (local.set $xb (i32.add (local.get $x) (local.get $b)))
                (local.set $pi (local.get $p0))
                (loop $nz4
                  (local.set $a0 (f32x4.add (local.get $a0)
                    (f32x4.mul (f32x4.splat (f32.load (i32.add (local.get $pi) (local.get $dw))))
                               (v128.load align=4 (i32.add (local.get $xb) (i32.mul (i32.load (local.get $pi)) (local.get $rb)))))))
                  (br_if $nz4 (i32.lt_u (local.tee $pi (i32.add (local.get $pi) (i32.const 4))) (local.get $pend))))
                (v128.store align=4 (i32.add (local.get $o) (local.get $b)) (local.get $a0))
                (br_if $c4 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 16))) (local.get $e4)))))
            (if (local.get $tail)
              (then (v128.store align=4 (i32.sub (i32.add (local.get $o) (local.get $rb)) (i32.const 16)) (local.get $t))))
            ;; B < 4: one column at a time.
            (block $d1
              (br_if $d1 (i32.or (local.get $tail) (i32.ge_u (local.get $b) (local.get $rb))))
              (loop $c1
                (local.set $s (select (local.get $zs) (f32.load (i32.add (local.get $so) (local.get $b))) (local.get $z)))
                (local.set $xb (i32.add (local.get $x) (local.get $b)))
                (local.set $pi (local.get $p0))
                (loop $nz1
                  (local.set $s (f32.add (local.get $s)
                    (f32.mul (f32.load (i32.add (local.get $pi) (local.get $dw)))
                             (f32.load (i32.add (local.get $xb) (i32.mul (i32.load (local.get $pi)) (local.get $rb)))))))
                  (br_if $nz1 (i32.lt_u (local.tee $pi (i32.add (local.get $pi) (i32.const 4))) (local.get $pend))))
                (f32.store (i32.add (local.get $o) (local.get $b)) (local.get $s))
                (br_if $c1 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 4))) (local.get $rb))))))
          (else
            (if (i32.or (local.get $z) (local.get $ds))
              (then
                (block $de
                  (br_if $de (i32.ge_u (local.get $b) (local.get $rb)))
                  (loop $ce
                    (f32.store (i32.add (local.get $o) (local.get $b))
                      (select (local.get $zs) (f32.load (i32.add (local.get $so) (local.get $b))) (local.get $z)))
                    (br_if $ce (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 4))) (local.get $rb)))))))))
        (br_if $row (i32.lt_s (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $hi))))))

  ;; dotRows: out[b] += sum_{k=lo}^{hi-1} a[k,b] * c[k,b]   for b in [0, nb), nb <= B;
  ;; B is the row stride (a thread takes a range of columns by offsetting a, c, out).
  ;; Products and sums in f64 (f64x2.promote_low_f32x4 of 64-bit loads), summed
  ;; over k in order per column, then out[b] = f32(f64(out[b]) + sum). Columns go
  ;; in chunks of 8 (4 f64x2 accumulators), then 2, then 1; rows stream inside.
  (func (export "dotRows")
    (param $a i32) (param $c i32) (param $lo i32) (param $hi i32) (param $B i32) (param $out i32) (param $nb i32)
    (local $rb i32) (local $cb i32) (local $e8 i32) (local $e2 i32) (local $dc i32)
    (local $b i32) (local $pa i32) (local $pend i32) (local $po i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s f64)
    (if (i32.ge_s (local.get $lo) (local.get $hi)) (then (return)))
    (local.set $rb (i32.shl (local.get $B) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $nb) (i32.const 2)))
    (local.set $e8 (i32.and (local.get $cb) (i32.const -32)))
    (local.set $e2 (i32.and (local.get $cb) (i32.const -8)))
    (local.set $dc (i32.sub (local.get $c) (local.get $a)))
    ;; pa walks a (rows lo..hi-1 at column b); the c element is at pa + dc.
    (local.set $a (i32.add (local.get $a) (i32.mul (local.get $lo) (local.get $rb))))
    (local.set $pend (i32.add (local.get $a) (i32.mul (i32.sub (local.get $hi) (local.get $lo)) (local.get $rb))))
    (block $d8
      (br_if $d8 (i32.ge_u (local.get $b) (local.get $e8)))
      (loop $c8
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $s1 (v128.const i64x2 0 0))
        (local.set $s2 (v128.const i64x2 0 0))
        (local.set $s3 (v128.const i64x2 0 0))
        (local.set $pa (i32.add (local.get $a) (local.get $b)))
        (loop $r8
          (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 align=4 (local.get $pa)))
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 align=4 (i32.add (local.get $pa) (local.get $dc)))))))
          (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 align=4 (local.get $pa)))
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 align=4 (i32.add (local.get $pa) (local.get $dc)))))))
          (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 align=4 (local.get $pa)))
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 align=4 (i32.add (local.get $pa) (local.get $dc)))))))
          (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 align=4 (local.get $pa)))
            (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 align=4 (i32.add (local.get $pa) (local.get $dc)))))))
          (br_if $r8 (i32.lt_u (local.tee $pa (i32.add (local.get $pa) (local.get $rb))) (local.get $pend))))
        (local.set $po (i32.add (local.get $out) (local.get $b)))
        (v128.store64_lane offset=0 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s0)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 align=4 (local.get $po))))))
        (v128.store64_lane offset=8 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s1)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 align=4 (local.get $po))))))
        (v128.store64_lane offset=16 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s2)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 align=4 (local.get $po))))))
        (v128.store64_lane offset=24 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s3)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 align=4 (local.get $po))))))
        (br_if $c8 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 32))) (local.get $e8)))))
    ;; 2 columns at a time.
    (block $d2
      (br_if $d2 (i32.ge_u (local.get $b) (local.get $e2)))
      (loop $c2
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $pa (i32.add (local.get $a) (local.get $b)))
        (loop $r2
          (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul
            (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (local.get $pa)))
            (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $pa) (local.get $dc)))))))
          (br_if $r2 (i32.lt_u (local.tee $pa (i32.add (local.get $pa) (local.get $rb))) (local.get $pend))))
        (local.set $po (i32.add (local.get $out) (local.get $b)))
        (v128.store64_lane align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s0)
          (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (local.get $po))))))
        (br_if $c2 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 8))) (local.get $e2)))))
    ;; The odd last column.
    (if (i32.lt_u (local.get $b) (local.get $cb))
      (then
        (local.set $s (f64.const 0))
        (local.set $pa (i32.add (local.get $a) (local.get $b)))
        (loop $r1
          (local.set $s (f64.add (local.get $s) (f64.mul
            (f64.promote_f32 (f32.load (local.get $pa)))
            (f64.promote_f32 (f32.load (i32.add (local.get $pa) (local.get $dc)))))))
          (br_if $r1 (i32.lt_u (local.tee $pa (i32.add (local.get $pa) (local.get $rb))) (local.get $pend))))
        (local.set $po (i32.add (local.get $out) (local.get $b)))
        (f32.store (local.get $po) (f32.demote_f64 (f64.add (local.get $s) (f64.promote_f32 (f32.load (local.get $po)))))))))

  ;; axpyRows: out[k,b] += g[b] * a[k,b]   for k in [lo, hi), b in [0, B).
  ;; f32 product and sum. Rows outer (streaming), 16 / 4 / 1 columns inner; g is
  ;; re-read per row (it stays in L1).
  (func (export "axpyRows")
    (param $g i32) (param $a i32) (param $lo i32) (param $hi i32) (param $B i32) (param $out i32)
    (local $rb i32) (local $e16 i32) (local $e4 i32) (local $k i32)
    (local $da i32) (local $dg i32)  ;; a row - out row, g - out row (byte differences)
    (local $po i32) (local $pend i32)
    (local.set $rb (i32.shl (local.get $B) (i32.const 2)))
    (local.set $e16 (i32.and (local.get $rb) (i32.const -64)))
    (local.set $e4 (i32.and (local.get $rb) (i32.const -16)))
    (local.set $da (i32.sub (local.get $a) (local.get $out)))
    (local.set $k (local.get $lo))
    (block $done
      (br_if $done (i32.ge_s (local.get $k) (local.get $hi)))
      (loop $row
        ;; po walks out row k; the a element is at po + da, the g element at po + dg.
        (local.set $po (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $rb))))
        (local.set $dg (i32.sub (local.get $g) (local.get $po)))
        (local.set $pend (i32.add (local.get $po) (local.get $e16)))
        (block $d16
          (br_if $d16 (i32.ge_u (local.get $po) (local.get $pend)))
          (loop $c16
            (v128.store offset=0 align=4 (local.get $po) (f32x4.add (v128.load offset=0 align=4 (local.get $po))
              (f32x4.mul (v128.load offset=0 align=4 (i32.add (local.get $po) (local.get $dg)))
                         (v128.load offset=0 align=4 (i32.add (local.get $po) (local.get $da))))))
            (v128.store offset=16 align=4 (local.get $po) (f32x4.add (v128.load offset=16 align=4 (local.get $po))
              (f32x4.mul (v128.load offset=16 align=4 (i32.add (local.get $po) (local.get $dg)))
                         (v128.load offset=16 align=4 (i32.add (local.get $po) (local.get $da))))))
            (v128.store offset=32 align=4 (local.get $po) (f32x4.add (v128.load offset=32 align=4 (local.get $po))
              (f32x4.mul (v128.load offset=32 align=4 (i32.add (local.get $po) (local.get $dg)))
                         (v128.load offset=32 align=4 (i32.add (local.get $po) (local.get $da))))))
            (v128.store offset=48 align=4 (local.get $po) (f32x4.add (v128.load offset=48 align=4 (local.get $po))
              (f32x4.mul (v128.load offset=48 align=4 (i32.add (local.get $po) (local.get $dg)))
                         (v128.load offset=48 align=4 (i32.add (local.get $po) (local.get $da))))))
            (br_if $c16 (i32.lt_u (local.tee $po (i32.add (local.get $po) (i32.const 64))) (local.get $pend)))))
        (local.set $pend (i32.add (local.get $pend) (i32.sub (local.get $e4) (local.get $e16))))
        (block $d4
          (br_if $d4 (i32.ge_u (local.get $po) (local.get $pend)))
          (loop $c4
            (v128.store align=4 (local.get $po) (f32x4.add (v128.load align=4 (local.get $po))
              (f32x4.mul (v128.load align=4 (i32.add (local.get $po) (local.get $dg)))
                         (v128.load align=4 (i32.add (local.get $po) (local.get $da))))))
            (br_if $c4 (i32.lt_u (local.tee $po (i32.add (local.get $po) (i32.const 16))) (local.get $pend)))))
        (local.set $pend (i32.add (local.get $pend) (i32.sub (local.get $rb) (local.get $e4))))
        (block $d1
          (br_if $d1 (i32.ge_u (local.get $po) (local.get $pend)))
          (loop $c1
            (f32.store (local.get $po) (f32.add (f32.load (local.get $po))
              (f32.mul (f32.load (i32.add (local.get $po) (local.get $dg)))
                       (f32.load (i32.add (local.get $po) (local.get $da))))))
            (br_if $c1 (i32.lt_u (local.tee $po (i32.add (local.get $po) (i32.const 4))) (local.get $pend)))))
        (br_if $row (i32.lt_s (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $hi))))))

  ;; ---- Permutations between the tensors' row-major [B, p] layout (nodes in their own
  ;; order) and the solve's node-major [p, B] layout (nodes in schedule order perm),
  ;; for node-major rows q in [lo, hi). Columns go in tiles of 16, so the 16 strided
  ;; rows of the row-major side stay in cache. Pure copies (permuteIn: one f32 product
  ;; when scale is not 0). permuteOut, the way back, is in gemm_pointwise.wat (room under the
  ;; size limit for spmm's start).

  ;; permuteIn: out[q*B + b] = src[b*p + perm[q]] (* scale[q*B + b] when scale != 0)
  (func (export "permuteIn")
    (param $src i32) (param $perm i32) (param $lo i32) (param $hi i32) (param $p i32) (param $B i32) (param $out i32) (param $scale i32)
    (local $pb i32) (local $b0 i32) (local $b1 i32) (local $q i32) (local $s i32) (local $o i32) (local $oe i32) (local $ds i32) (local $v f32)
    (local.set $pb (i32.shl (local.get $p) (i32.const 2)))
    (local.set $ds (i32.sub (local.get $scale) (local.get $out)))
    (block $done
      (loop $tile
        (br_if $done (i32.ge_s (local.get $b0) (local.get $B)))
        (local.set $b1 (select (i32.add (local.get $b0) (i32.const 16)) (local.get $B)
          (i32.lt_s (i32.add (local.get $b0) (i32.const 16)) (local.get $B))))
        (local.set $q (local.get $lo))
        (block $qd
          (loop $ql
            (br_if $qd (i32.ge_s (local.get $q) (local.get $hi)))
            (local.set $s (i32.add (i32.add (local.get $src) (i32.mul (local.get $b0) (local.get $pb)))
              (i32.shl (i32.load (i32.add (local.get $perm) (i32.shl (local.get $q) (i32.const 2)))) (i32.const 2))))
            (local.set $o (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $q) (local.get $B)) (local.get $b0)) (i32.const 2))))
            (local.set $oe (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $q) (local.get $B)) (local.get $b1)) (i32.const 2))))
            (loop $bl
              (local.set $v (f32.load (local.get $s)))
              (if (local.get $scale)
                (then (local.set $v (f32.mul (local.get $v) (f32.load (i32.add (local.get $o) (local.get $ds)))))))
              (f32.store (local.get $o) (local.get $v))
              (local.set $s (i32.add (local.get $s) (local.get $pb)))
              (br_if $bl (i32.lt_u (local.tee $o (i32.add (local.get $o) (i32.const 4))) (local.get $oe))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $ql)))
        (local.set $b0 (local.get $b1))
        (br $tile))))

  ;; The element-wise kernels (relativeStep, addMul, andersonDiffs, adamUpdate,
  ;; momentumUpdate) follow here in the compiled module: they live in
  ;; sparse_elementwise.wat, whose body scripts/kernel_source.mjs splices in.
)
