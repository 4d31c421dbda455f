;; Dense "graph gradient" product of the Neural Module layer, 128-bit WebAssembly
;; SIMD (f32x4):
;;
;;   G[j,k] = sum_{b=0}^{B-1} h[j,b] * v[k,b]   for j in [jLo, jHi), k in [0, p)
;;
;; i.e. G = H V^T for node-major H, V [p, B]. A row range [jLo, jHi) lets two
;; threads share one product, each writing its own rows of `out`.
;;
;; Compiled by `npm run build:kernels` (scripts/build-kernels.mjs, wabt with SIMD
;; enabled) into src/kernels/gemm_wasm_bytes.ts; src/kernels/gemm.ts wraps the
;; exports. The module also holds permuteOut, tanh, tanhDerivative, gather and
;; residualNorms, for room in sparse.wat: they are written in gemm_pointwise.wat, which
;; scripts/kernel_source.mjs splices in at the end. Keep
;; the binary under 4 KB: browsers refuse larger synchronous compiles on the main
;; thread.
;;
;; Conventions
;; - Every pointer argument is a byte offset into the imported memory `env.memory`
;;   (imported, never exported or grown here: the same code runs over a shared
;;   memory).
;; - h and v are node-major [p, B]: row k starts at base + k*B*4 bytes. B need not
;;   be a multiple of 4 and ldo need not be either, so h and out rows are only
;;   4-byte aligned: their v128 accesses carry an align=4 hint. Packed panel rows
;;   are 64 bytes apart (16-byte aligned when vp is; any offset still works, wasm
;;   alignment is only a hint).
;; - packV(v, p, B, vp) writes v as ceil(p/16) panels of 16 nodes, b-major inside a
;;   panel: vp[(q*B + b)*16 + c] = v[(16q + c), b], zero for 16q + c >= p. Panel q
;;   is 64*B bytes at vp + q*64*B; the whole packed copy is ceil(p/16)*64*B bytes.
;; - gemmNT(h, vp, jLo, jHi, p, B, out, ldo) writes G[j,k] to out + (j*ldo + k)*4
;;   for j in [jLo, jHi), k in [0, p): row j of out is at its absolute position j,
;;   with a row stride of ldo >= p floats. Nothing else in out is written, and
;;   nothing of h outside rows [jLo, jHi) is read.
;; - Rounding and summation order (src/kernels/gemm.ts gemmNTJs follows it bit for
;;   bit): each G[j,k] is accumulated in f32 over b = 0, 1, ..., B-1 in order,
;;   starting from +0, rounding every product and every sum to f32:
;;   s = +0; s = fl(s + fl(h[j,b]*v[k,b])) for each b. No FMA here; the FMA variant
;;   (scripts/wat_fma.mjs, f32x4.relaxed_madd) computes s = fl(s + h[j,b]*v[k,b]).
;; - The wrapper validates argument ranges; the kernels trust them.
;;
;; Algorithm: an outer-product micro-kernel over a 2 x 16 block of G (rows j, j+1;
;; the 16 nodes of one panel). Its eight f32x4 accumulators stay in registers while
;; b runs over the whole batch: per b, four v128 loads of the panel row, two
;; broadcast loads (v128.load32_splat) of h[j,b] and h[j+1,b], eight f32x4.mul and
;; eight f32x4.add. 8 accumulators + 4 panel vectors + 2 broadcasts + 1 product
;; = 15 xmm registers (V8 x64 keeps xmm15 as scratch), so nothing spills in the b
;; loop (checked with node --print-wasm-code), and the loop is bound by the
;; mul/add throughput. Other blocks (4 x 8, 5 x 8, 6 x 8, 3 x 12, 3 x 16, 4 x 12,
;; 2 x 20, 2 x 24, 1 x 32) and unrolling b by hand (TurboFan already unrolls it
;; twice) measured 5-30% slower on x64. The packed v (1.5 MB for
;; p = 3000, B = 128) is streamed from L2 once per pair of rows, with the two rows
;; of h (1 KB) in L1. An odd last row is computed with the second row aliased to
;; the first and only the first stored; a last partial panel (p % 16 != 0) reads
;; the zero padding and stores only its p % 16 valid columns.

(module
  (import "env" "memory" (memory 1))

  ;; packV: pack node-major v [p, B] into 16-node panels (see Conventions).
  ;; Reads v row by row and scatters each row's B values down the panel at a
  ;; stride of 64 bytes; the padding nodes of the last panel are written as zeros.
  (func (export "packV") (param $v i32) (param $p i32) (param $B i32) (param $vp i32)
    (local $rb i32)   ;; row bytes, B*4
    (local $k i32)    ;; node, 0 .. p rounded up to 16
    (local $kend i32)
    (local $d i32)    ;; destination address of (k, b)
    (local $src i32) (local $end i32)
    (local.set $rb (i32.shl (local.get $B) (i32.const 2)))
    (local.set $kend (i32.and (i32.add (local.get $p) (i32.const 15)) (i32.const -16)))
    (block $done
      (br_if $done (i32.or (i32.le_s (local.get $B) (i32.const 0)) (i32.le_s (local.get $p) (i32.const 0))))
      (loop $node
        ;; d = vp + (k >> 4)*64*B + (k & 15)*4
        (local.set $d (i32.add (local.get $vp)
          (i32.add (i32.mul (i32.shr_u (local.get $k) (i32.const 4)) (i32.shl (local.get $rb) (i32.const 4)))
                   (i32.shl (i32.and (local.get $k) (i32.const 15)) (i32.const 2)))))
        (local.set $src (i32.add (local.get $v) (i32.mul (local.get $k) (local.get $rb))))
        (local.set $end (i32.add (local.get $src) (local.get $rb)))
        (if (i32.lt_s (local.get $k) (local.get $p))
          (then
            (loop $b
              (f32.store (local.get $d) (f32.load (local.get $src)))
              (local.set $d (i32.add (local.get $d) (i32.const 64)))
              (br_if $b (i32.lt_u (local.tee $src (i32.add (local.get $src) (i32.const 4))) (local.get $end)))))
          (else
            ;; padding node: $src only counts the B steps, nothing is read
            (loop $z
              (f32.store (local.get $d) (f32.const 0))
              (local.set $d (i32.add (local.get $d) (i32.const 64)))
              (br_if $z (i32.lt_u (local.tee $src (i32.add (local.get $src) (i32.const 4))) (local.get $end))))))
        (br_if $node (i32.lt_s (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $kend))))))

  ;; storeRow: out[o .. o + 4n) = the first n (1..15) lanes of x0 x1 x2 x3, for a
  ;; partial last panel. Whole vectors are stored whole; the partial one lane by lane.
  (func $storeRow (param $o i32) (param $x0 v128) (param $x1 v128) (param $x2 v128) (param $x3 v128) (param $n i32)
    (local $x v128)
    (block $part
      (local.set $x (local.get $x0))
      (br_if $part (i32.lt_s (local.get $n) (i32.const 4)))
      (v128.store align=4 (local.get $o) (local.get $x0))
      (local.set $x (local.get $x1))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $part (i32.lt_s (local.get $n) (i32.const 8)))
      (v128.store align=4 (local.get $o) (local.get $x1))
      (local.set $x (local.get $x2))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br_if $part (i32.lt_s (local.get $n) (i32.const 12)))
      (v128.store align=4 (local.get $o) (local.get $x2))
      (local.set $x (local.get $x3))
      (local.set $o (i32.add (local.get $o) (i32.const 16))))
    ;; n & 3 lanes of $x remain
    (local.set $n (i32.and (local.get $n) (i32.const 3)))
    (if (i32.gt_u (local.get $n) (i32.const 0)) (then (f32.store (local.get $o) (f32x4.extract_lane 0 (local.get $x)))))
    (if (i32.gt_u (local.get $n) (i32.const 1)) (then (f32.store offset=4 (local.get $o) (f32x4.extract_lane 1 (local.get $x)))))
    (if (i32.gt_u (local.get $n) (i32.const 2)) (then (f32.store offset=8 (local.get $o) (f32x4.extract_lane 2 (local.get $x))))))

  ;; gemmNT: out[j, k] = G[j,k] for j in [jLo, jHi), k in [0, p), from node-major
  ;; h and the packV panels vp (see Conventions).
  (func (export "gemmNT")
    (param $h i32) (param $vp i32) (param $jLo i32) (param $jHi i32) (param $p i32)
    (param $B i32) (param $out i32) (param $ldo i32)
    (local $rb i32)    ;; row bytes of h, B*4
    (local $lb i32)    ;; row bytes of out, ldo*4
    (local $j i32)
    (local $two i32)   ;; 1 when row j+1 < jHi is computed too
    (local $d1 i32)    ;; h row j+1 minus h row j, in bytes (0 for an odd last row)
    (local $x i32) (local $xe i32)  ;; h[j,b] address and its row end
    (local $y i32)     ;; packed panel row (q, b) address
    (local $o i32)     ;; out address of (j, 16q)
    (local $rem i32)   ;; columns left in row j, p - 16q
    (local $s0 v128) (local $s1 v128)  ;; h[j,b], h[j+1,b] broadcast
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)  ;; vp panel row
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a03 v128)  ;; G[j, 16q ..]
    (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a13 v128)  ;; G[j+1, 16q ..]
    (local.set $rb (i32.shl (local.get $B) (i32.const 2)))
    (local.set $lb (i32.shl (local.get $ldo) (i32.const 2)))
    (local.set $j (local.get $jLo))
    (block $done
      (br_if $done (i32.or (i32.ge_s (local.get $jLo) (local.get $jHi)) (i32.le_s (local.get $p) (i32.const 0))))
      (loop $rows
        (local.set $two (i32.lt_s (i32.add (local.get $j) (i32.const 1)) (local.get $jHi)))
        (local.set $d1 (select (local.get $rb) (i32.const 0) (local.get $two)))
        (local.set $xe (i32.add (i32.add (local.get $h) (i32.mul (local.get $j) (local.get $rb))) (local.get $rb)))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $j) (local.get $lb))))
        (local.set $y (local.get $vp))
        (local.set $rem (local.get $p))
        (loop $panels
          (local.set $a00 (v128.const i32x4 0 0 0 0))
          (local.set $a01 (v128.const i32x4 0 0 0 0))
          (local.set $a02 (v128.const i32x4 0 0 0 0))
          (local.set $a03 (v128.const i32x4 0 0 0 0))
          (local.set $a10 (v128.const i32x4 0 0 0 0))
          (local.set $a11 (v128.const i32x4 0 0 0 0))
          (local.set $a12 (v128.const i32x4 0 0 0 0))
          (local.set $a13 (v128.const i32x4 0 0 0 0))
          (local.set $x (i32.sub (local.get $xe) (local.get $rb)))
          ;; b loop: $y walks panel q row by row and ends at panel q+1.
          (if (i32.gt_s (local.get $B) (i32.const 0))
            (then
              (loop $b
                (local.set $w0 (v128.load (local.get $y)))
                (local.set $w1 (v128.load offset=16 (local.get $y)))
                (local.set $w2 (v128.load offset=32 (local.get $y)))
                (local.set $w3 (v128.load offset=48 (local.get $y)))
                (local.set $s0 (v128.load32_splat align=4 (local.get $x)))
                (local.set $s1 (v128.load32_splat align=4 (i32.add (local.get $x) (local.get $d1))))
                (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $s0) (local.get $w0))))
                (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $s0) (local.get $w1))))
                (local.set $a02 (f32x4.add (local.get $a02) (f32x4.mul (local.get $s0) (local.get $w2))))
                (local.set $a03 (f32x4.add (local.get $a03) (f32x4.mul (local.get $s0) (local.get $w3))))
                (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $s1) (local.get $w0))))
                (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $s1) (local.get $w1))))
                (local.set $a12 (f32x4.add (local.get $a12) (f32x4.mul (local.get $s1) (local.get $w2))))
                (local.set $a13 (f32x4.add (local.get $a13) (f32x4.mul (local.get $s1) (local.get $w3))))
                (local.set $y (i32.add (local.get $y) (i32.const 64)))
                (br_if $b (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 4))) (local.get $xe))))))
          (if (i32.and (local.get $two) (i32.ge_s (local.get $rem) (i32.const 16)))
            (then
              (v128.store align=4 (local.get $o) (local.get $a00))
              (v128.store offset=16 align=4 (local.get $o) (local.get $a01))
              (v128.store offset=32 align=4 (local.get $o) (local.get $a02))
              (v128.store offset=48 align=4 (local.get $o) (local.get $a03))
              (v128.store align=4 (i32.add (local.get $o) (local.get $lb)) (local.get $a10))
              (v128.store offset=16 align=4 (i32.add (local.get $o) (local.get $lb)) (local.get $a11))
              (v128.store offset=32 align=4 (i32.add (local.get $o) (local.get $lb)) (local.get $a12))
              (v128.store offset=48 align=4 (i32.add (local.get $o) (local.get $lb)) (local.get $a13)))
            (else
              (if (i32.ge_s (local.get $rem) (i32.const 16))
                (then
                  (v128.store align=4 (local.get $o) (local.get $a00))
                  (v128.store offset=16 align=4 (local.get $o) (local.get $a01))
                  (v128.store offset=32 align=4 (local.get $o) (local.get $a02))
                  (v128.store offset=48 align=4 (local.get $o) (local.get $a03)))
                (else
                  (call $storeRow (local.get $o) (local.get $a00) (local.get $a01) (local.get $a02) (local.get $a03) (local.get $rem))
                  (if (local.get $two)
                    (then
                      (call $storeRow (i32.add (local.get $o) (local.get $lb))
                        (local.get $a10) (local.get $a11) (local.get $a12) (local.get $a13) (local.get $rem))))))))
          (local.set $o (i32.add (local.get $o) (i32.const 64)))
          (br_if $panels (i32.gt_s (local.tee $rem (i32.sub (local.get $rem) (i32.const 16))) (i32.const 0))))
        (br_if $rows (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 2))) (local.get $jHi))))))
)
