;; The pointwise and permutation kernels of the gemm module (128-bit WebAssembly SIMD):
;; permuteOut (the way back from the solve's node-major layout), tanh and its
;; derivative, gather, and residualNorms. They live in the gemm module for room under
;; sparse.wat's size limit; the runtime merges the exports of both modules.
;;
;; This file is a module of its own (it parses and validates alone), but it is not
;; compiled alone: scripts/kernel_source.mjs splices everything after its memory
;; import into src/kernels/gemm.wat, before that module's closing parenthesis, and
;; scripts/build-kernels.mjs compiles the result into src/kernels/gemm_wasm_bytes.ts.
;; The conventions of gemm.wat apply (byte-offset pointers into env.memory, the
;; wrapper validates ranges, js_kernels.ts follows the operation order).

(module
  (import "env" "memory" (memory 1))

  ;; permuteOut: the inverse of sparse.wat's permuteIn, from the solve's node-major
  ;; [p, B] layout (nodes in schedule order perm) to the tensors' row-major [B, p], for
  ;; node-major rows q in [lo, hi), columns in tiles of 16 (a pure copy). Here to keep
  ;; sparse.wat under the size limit; the runtime merges the exports of both modules.
  ;; permuteOut: out[b*p + perm[q]] = src[q*B + b]
  (func (export "permuteOut")
    (param $src i32) (param $perm i32) (param $lo i32) (param $hi i32) (param $p i32) (param $B i32) (param $out i32)
    (local $pb i32) (local $b0 i32) (local $b1 i32) (local $q i32) (local $s i32) (local $se i32) (local $o i32)
    (local.set $pb (i32.shl (local.get $p) (i32.const 2)))
    (block $done
      (loop $tile
        (br_if $done (i32.ge_s (local.get $b0) (local.get $B)))
        (local.set $b1 (select (i32.add (local.get $b0) (i32.const 16)) (local.get $B)
          (i32.lt_s (i32.add (local.get $b0) (i32.const 16)) (local.get $B))))
        (local.set $q (local.get $lo))
        (block $qd
          (loop $ql
            (br_if $qd (i32.ge_s (local.get $q) (local.get $hi)))
            (local.set $s (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $q) (local.get $B)) (local.get $b0)) (i32.const 2))))
            (local.set $se (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $q) (local.get $B)) (local.get $b1)) (i32.const 2))))
            (local.set $o (i32.add (i32.add (local.get $out) (i32.mul (local.get $b0) (local.get $pb)))
              (i32.shl (i32.load (i32.add (local.get $perm) (i32.shl (local.get $q) (i32.const 2)))) (i32.const 2))))
            (loop $bl
              (f32.store (local.get $o) (f32.load (local.get $s)))
              (local.set $o (i32.add (local.get $o) (local.get $pb)))
              (br_if $bl (i32.lt_u (local.tee $s (i32.add (local.get $s) (i32.const 4))) (local.get $se))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $ql)))
        (local.set $b0 (local.get $b1))
        (br $tile))))

  ;; tanh: out[i] = tanh(x[i]), Eigen's f32 rational approximation: the clamp is
  ;; c = x < -T ? -T : x, then c > T ? T : c (exactly f32x4.pmax, f32x4.pmin: one
  ;; maxps/minps each, where min/max need NaN and -0 fix-ups; NaN passes through),
  ;; p = c*(A1 + c2*(A3 + ... + c2*A13)), q = B0 + c2*(B2 +
  ;; c2*(B4 + c2*B6)), tanh = p / q, every op in f32 (js_kernels.ts does the same
  ;; with Math.fround). The tail runs the same body on a splat of one element and
  ;; stores lane 0, so the rational is written once. The constants are splatted
  ;; into locals once, before the loop: V8 re-materializes an inline splat on
  ;; every step, which made the loop about twice as slow (same bits either way).
  ;; Over n contiguous f32; out may be x itself (the wrapper rejects partial overlaps).
  (func (export "tanh") (param $x i32) (param $o i32) (param $n i32)
    (local $e4 i32) (local $k0 v128) (local $k1 v128) (local $k2 v128) (local $k3 v128) (local $k4 v128) (local $k5 v128) (local $k6 v128) (local $k7 v128) (local $k8 v128) (local $k9 v128) (local $k10 v128) (local $k11 v128) (local $k12 v128) (local $end i32) (local $c v128) (local $c2 v128)
    (local.set $o (i32.sub (local.get $o) (local.get $x)))  ;; out - x
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $k0 (f32x4.splat (f32.const -0x1.ffec88p2)))
    (local.set $k1 (f32x4.splat (f32.const 0x1.ffec88p2)))
    (local.set $k2 (f32x4.splat (f32.const 0x1.40b3b8p-8)))
    (local.set $k3 (f32x4.splat (f32.const 0x1.4e1bdap-11)))
    (local.set $k4 (f32x4.splat (f32.const 0x1.f28694p-17)))
    (local.set $k5 (f32x4.splat (f32.const 0x1.b80082p-25)))
    (local.set $k6 (f32x4.splat (f32.const -0x1.7a6ffep-34)))
    (local.set $k7 (f32x4.splat (f32.const 0x1.c266fcp-43)))
    (local.set $k8 (f32x4.splat (f32.const -0x1.3e4b80p-52)))
    (local.set $k9 (f32x4.splat (f32.const 0x1.40b3bap-8)))
    (local.set $k10 (f32x4.splat (f32.const 0x1.29540ap-9)))
    (local.set $k11 (f32x4.splat (f32.const 0x1.f12bacp-14)))
    (local.set $k12 (f32x4.splat (f32.const 0x1.41a7b0p-20)))
    (block $done
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (loop $l
        (local.set $c (f32x4.pmin
          (f32x4.pmax
            (if (result v128) (i32.lt_u (local.get $x) (local.get $e4))
              (then (v128.load align=4 (local.get $x)))
              (else (v128.load32_splat (local.get $x))))
            (local.get $k0))
          (local.get $k1)))
        (local.set $c2 (f32x4.mul (local.get $c) (local.get $c)))
        (local.set $c (f32x4.div
          (f32x4.mul (local.get $c)
            (f32x4.add (local.get $k2) (f32x4.mul (local.get $c2)
            (f32x4.add (local.get $k3) (f32x4.mul (local.get $c2)
            (f32x4.add (local.get $k4) (f32x4.mul (local.get $c2)
            (f32x4.add (local.get $k5) (f32x4.mul (local.get $c2)
            (f32x4.add (local.get $k6) (f32x4.mul (local.get $c2)
            (f32x4.add (local.get $k7) (f32x4.mul (local.get $c2)
              (local.get $k8))))))))))))))
          (f32x4.add (local.get $k9) (f32x4.mul (local.get $c2)
          (f32x4.add (local.get $k10) (f32x4.mul (local.get $c2)
          (f32x4.add (local.get $k11) (f32x4.mul (local.get $c2)
            (local.get $k12)))))))))
        (if (i32.lt_u (local.get $x) (local.get $e4))
          (then
            (v128.store align=4 (i32.add (local.get $x) (local.get $o)) (local.get $c))
            (local.set $x (i32.add (local.get $x) (i32.const 16))))
          (else
            (v128.store32_lane 0 (i32.add (local.get $x) (local.get $o)) (local.get $c))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))))
        (br_if $l (i32.lt_u (local.get $x) (local.get $end))))))
;; gather: out[i] = src[idx[i]] for i < n (idx: i32 element indices into src; a
  ;; pure copy). src is a base address the thread split leaves alone (an 'int'
  ;; parameter); idx and out move with the part. The wrapper cannot check the
  ;; indices in O(1): they must be valid elements of src.
  (func (export "gather") (param $src i32) (param $idx i32) (param $n i32) (param $o i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $idx) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $idx) (local.get $end)))
      (loop $l
        (f32.store (local.get $o)
          (f32.load (i32.add (local.get $src) (i32.shl (i32.load (local.get $idx)) (i32.const 2)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br_if $l (i32.lt_u (local.tee $idx (i32.add (local.get $idx) (i32.const 4))) (local.get $end))))))
;; tanhDerivative: out[i] = 1 - fx[i]^2 with fx[i] = tanh(x[i]), computed as
  ;; JavaScript computes `1 - fx * fx` on f32 values: the square and the difference in
  ;; f64, one rounding to f32 at the store (so the JS twin gives the same bits). Over n
  ;; contiguous f32; out may be fx itself.
  (func (export "tanhDerivative") (param $x i32) (param $o i32) (param $n i32)
    (local $end i32) (local $v f64)
    (local.set $o (i32.sub (local.get $o) (local.get $x)))  ;; out - fx
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (loop $l
        (local.set $v (f64.promote_f32 (f32.load (local.get $x))))
        (f32.store (i32.add (local.get $x) (local.get $o))
          (f32.demote_f64 (f64.sub (f64.const 1) (f64.mul (local.get $v) (local.get $v)))))
        (br_if $l (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 4))) (local.get $end))))))
;; residualNorms: for columns b in [0, nb) of rows [lo, hi) of node-major a and c (row
  ;; stride B floats), with d = fl(a[k,b] - c[k,b]) in f32:
  ;;   r2[b] = f32(f64(r2[b]) + sum_k f64(d)^2),  c2[b] = f32(f64(c2[b]) + sum_k f64(c[k,b])^2),
  ;; each sum in f64 over k in order: the bits of sparse.wat's addMul(a, -1, c) followed by
  ;; its dotRows of that difference with itself and of c with itself, in one pass that
  ;; writes no difference array. Columns in chunks of 8 (4 + 4 f64x2 accumulators), then one
  ;; at a time; rows stream inside.
  (func (export "residualNorms")
    (param $a i32) (param $c i32) (param $lo i32) (param $hi i32) (param $B i32) (param $r2 i32) (param $c2 i32) (param $nb i32)
    (local $rb i32) (local $cb i32) (local $e8 i32) (local $dc i32) (local $b i32) (local $pa i32) (local $pend i32) (local $po i32)
    (local $d v128) (local $x v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $sd f64) (local $sc f64) (local $fd f64) (local $fc f64)
    (if (i32.ge_s (local.get $lo) (local.get $hi)) (then (return)))
    (local.set $rb (i32.shl (local.get $B) (i32.const 2)))
    (local.set $cb (i32.shl (local.get $nb) (i32.const 2)))
    (local.set $e8 (i32.and (local.get $cb) (i32.const -32)))
    (local.set $dc (i32.sub (local.get $c) (local.get $a)))
    (local.set $a (i32.add (local.get $a) (i32.mul (local.get $lo) (local.get $rb))))
    (local.set $pend (i32.add (local.get $a) (i32.mul (i32.sub (local.get $hi) (local.get $lo)) (local.get $rb))))
    (block $d8
      (br_if $d8 (i32.ge_u (local.get $b) (local.get $e8)))
      (loop $c8
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $s1 (v128.const i64x2 0 0))
        (local.set $s2 (v128.const i64x2 0 0))
        (local.set $s3 (v128.const i64x2 0 0))
        (local.set $t0 (v128.const i64x2 0 0))
        (local.set $t1 (v128.const i64x2 0 0))
        (local.set $t2 (v128.const i64x2 0 0))
        (local.set $t3 (v128.const i64x2 0 0))
        (local.set $pa (i32.add (local.get $a) (local.get $b)))
        (loop $r8
          (local.set $x (v128.load64_zero offset=0 align=4 (i32.add (local.get $pa) (local.get $dc))))
          (local.set $d (f64x2.promote_low_f32x4 (f32x4.sub (v128.load64_zero offset=0 align=4 (local.get $pa)) (local.get $x))))
          (local.set $x (f64x2.promote_low_f32x4 (local.get $x)))
          (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (local.get $x) (local.get $x))))
          (local.set $x (v128.load64_zero offset=8 align=4 (i32.add (local.get $pa) (local.get $dc))))
          (local.set $d (f64x2.promote_low_f32x4 (f32x4.sub (v128.load64_zero offset=8 align=4 (local.get $pa)) (local.get $x))))
          (local.set $x (f64x2.promote_low_f32x4 (local.get $x)))
          (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (local.get $x) (local.get $x))))
          (local.set $x (v128.load64_zero offset=16 align=4 (i32.add (local.get $pa) (local.get $dc))))
          (local.set $d (f64x2.promote_low_f32x4 (f32x4.sub (v128.load64_zero offset=16 align=4 (local.get $pa)) (local.get $x))))
          (local.set $x (f64x2.promote_low_f32x4 (local.get $x)))
          (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $t2 (f64x2.add (local.get $t2) (f64x2.mul (local.get $x) (local.get $x))))
          (local.set $x (v128.load64_zero offset=24 align=4 (i32.add (local.get $pa) (local.get $dc))))
          (local.set $d (f64x2.promote_low_f32x4 (f32x4.sub (v128.load64_zero offset=24 align=4 (local.get $pa)) (local.get $x))))
          (local.set $x (f64x2.promote_low_f32x4 (local.get $x)))
          (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $d) (local.get $d))))
          (local.set $t3 (f64x2.add (local.get $t3) (f64x2.mul (local.get $x) (local.get $x))))
          (br_if $r8 (i32.lt_u (local.tee $pa (i32.add (local.get $pa) (local.get $rb))) (local.get $pend))))
        (local.set $po (i32.add (local.get $r2) (local.get $b)))
        (v128.store64_lane offset=0 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s0)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 align=4 (local.get $po))))))
        (v128.store64_lane offset=8 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s1)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 align=4 (local.get $po))))))
        (v128.store64_lane offset=16 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s2)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 align=4 (local.get $po))))))
        (v128.store64_lane offset=24 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $s3)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 align=4 (local.get $po))))))
        (local.set $po (i32.add (local.get $c2) (local.get $b)))
        (v128.store64_lane offset=0 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $t0)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 align=4 (local.get $po))))))
        (v128.store64_lane offset=8 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $t1)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 align=4 (local.get $po))))))
        (v128.store64_lane offset=16 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $t2)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 align=4 (local.get $po))))))
        (v128.store64_lane offset=24 align=4 0 (local.get $po) (f32x4.demote_f64x2_zero (f64x2.add (local.get $t3)
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 align=4 (local.get $po))))))
        (br_if $c8 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 32))) (local.get $e8)))))
    ;; The last nb mod 8 columns, one at a time.
    (block $d1
      (br_if $d1 (i32.ge_u (local.get $b) (local.get $cb)))
      (loop $c1
        (local.set $sd (f64.const 0))
        (local.set $sc (f64.const 0))
        (local.set $pa (i32.add (local.get $a) (local.get $b)))
        (loop $r1
          (local.set $fd (f64.promote_f32 (f32.sub (f32.load (local.get $pa)) (f32.load (i32.add (local.get $pa) (local.get $dc))))))
          (local.set $fc (f64.promote_f32 (f32.load (i32.add (local.get $pa) (local.get $dc)))))
          (local.set $sd (f64.add (local.get $sd) (f64.mul (local.get $fd) (local.get $fd))))
          (local.set $sc (f64.add (local.get $sc) (f64.mul (local.get $fc) (local.get $fc))))
          (br_if $r1 (i32.lt_u (local.tee $pa (i32.add (local.get $pa) (local.get $rb))) (local.get $pend))))
        (local.set $po (i32.add (local.get $r2) (local.get $b)))
        (f32.store (local.get $po) (f32.demote_f64 (f64.add (local.get $sd) (f64.promote_f32 (f32.load (local.get $po))))))
        (local.set $po (i32.add (local.get $c2) (local.get $b)))
        (f32.store (local.get $po) (f32.demote_f64 (f64.add (local.get $sc) (f64.promote_f32 (f32.load (local.get $po))))))
        (br_if $c1 (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 4))) (local.get $cb))))))
)
