;; Element-wise kernels of the sparse module: 128-bit WebAssembly SIMD (f32x4) over
;; flat arrays of n floats. The solvers' per-iteration bookkeeping (relativeStep,
;; addMul, andersonDiffs) and the fused optimizers' updates (adamUpdate,
;; momentumUpdate).
;;
;; This file is a module of its own (it parses and validates alone), but it is not
;; compiled alone: scripts/kernel_source.mjs splices everything after its memory
;; import into src/kernels/sparse.wat, before that module's closing parenthesis, and
;; scripts/build-kernels.mjs compiles the result into src/kernels/sparse_wasm_bytes.ts.
;; One module keeps one instantiation per thread; two files keep each under 400 lines.
;; The conventions of sparse.wat apply (byte-offset pointers into env.memory, the
;; wrapper validates ranges, js_kernels.ts follows the operation and summation order).

(module
  (import "env" "memory" (memory 1))

  ;; ---- Element-wise kernels over n contiguous f32 (the solvers' per-iteration
  ;; bookkeeping). 4 elements per step, then the n % 4 tail one at a time; every
  ;; step loads all its inputs before it stores, so an output may be one of the
  ;; inputs itself (the wrapper rejects partial overlaps).

  ;; tanh is in gemm_pointwise.wat (room here).

  ;; relativeStep: sqrt(sum (a_i - b_i)^2) / (sqrt(sum b_i^2) + 1e-8), in f64.
  ;; Summation order (js_kernels.ts matches it): four partial sums, element i into
  ;; sum i % 4, over i < n & ~3; then (s0 + s2) + (s1 + s3); then the tail in order.
  (func (export "relativeStep") (param $a i32) (param $b i32) (param $n i32) (result f64)
    (local $e4 i32) (local $end i32)
    (local $d0 v128) (local $d1 v128) (local $s0 v128) (local $s1 v128) (local $t v128)
    (local $sd f64) (local $sb f64) (local $u f64)
    (local.set $b (i32.sub (local.get $b) (local.get $a)))  ;; b - a
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $a) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $d4
      (br_if $d4 (i32.ge_u (local.get $a) (local.get $e4)))
      (loop $l4
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.add (local.get $a) (local.get $b)))))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (local.get $a))) (local.get $t)))
        (local.set $d0 (f64x2.add (local.get $d0) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 align=4 (i32.add (local.get $a) (local.get $b)))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $t) (local.get $t))))
        (local.set $t (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 align=4 (local.get $a))) (local.get $t)))
        (local.set $d1 (f64x2.add (local.get $d1) (f64x2.mul (local.get $t) (local.get $t))))
        (br_if $l4 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 16))) (local.get $e4)))))
    (local.set $d0 (f64x2.add (local.get $d0) (local.get $d1)))
    (local.set $s0 (f64x2.add (local.get $s0) (local.get $s1)))
    (local.set $sd (f64.add (f64x2.extract_lane 0 (local.get $d0)) (f64x2.extract_lane 1 (local.get $d0))))
    (local.set $sb (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
    (block $d1
      (br_if $d1 (i32.ge_u (local.get $a) (local.get $end)))
      (loop $l1
        (local.set $u (f64.promote_f32 (f32.load (i32.add (local.get $a) (local.get $b)))))
        (local.set $sb (f64.add (local.get $sb) (f64.mul (local.get $u) (local.get $u))))
        (local.set $u (f64.sub (f64.promote_f32 (f32.load (local.get $a))) (local.get $u)))
        (local.set $sd (f64.add (local.get $sd) (f64.mul (local.get $u) (local.get $u))))
        (br_if $l1 (i32.lt_u (local.tee $a (i32.add (local.get $a) (i32.const 4))) (local.get $end)))))
    (f64.div (f64.sqrt (local.get $sd)) (f64.add (f64.sqrt (local.get $sb)) (f64.const 1e-8))))

  ;; addMul: out[i] = a[i] + d[i]*t[i] (f32 product and sum).
  (func (export "addMul") (param $a i32) (param $d i32) (param $t i32) (param $o i32) (param $n i32)
    (local $e4 i32) (local $end i32)
    ;; o walks out; the inputs are at o + (their offset - out).
    (local.set $a (i32.sub (local.get $a) (local.get $o)))
    (local.set $d (i32.sub (local.get $d) (local.get $o)))
    (local.set $t (i32.sub (local.get $t) (local.get $o)))
    (local.set $end (i32.add (local.get $o) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $o) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $d4
      (br_if $d4 (i32.ge_u (local.get $o) (local.get $e4)))
      (loop $l4
        (v128.store align=4 (local.get $o) (f32x4.add (v128.load align=4 (i32.add (local.get $o) (local.get $a)))
          (f32x4.mul (v128.load align=4 (i32.add (local.get $o) (local.get $d)))
                     (v128.load align=4 (i32.add (local.get $o) (local.get $t))))))
        (br_if $l4 (i32.lt_u (local.tee $o (i32.add (local.get $o) (i32.const 16))) (local.get $e4)))))
    (block $d1
      (br_if $d1 (i32.ge_u (local.get $o) (local.get $end)))
      (loop $l1
        (f32.store (local.get $o) (f32.add (f32.load (i32.add (local.get $o) (local.get $a)))
          (f32.mul (f32.load (i32.add (local.get $o) (local.get $d)))
                   (f32.load (i32.add (local.get $o) (local.get $t))))))
        (br_if $l1 (i32.lt_u (local.tee $o (i32.add (local.get $o) (i32.const 4))) (local.get $end))))))

  ;; andersonDiffs: r = g - x; if $diffs: dG = g - prevG, dR = r - prevR; then
  ;; prevG = g, prevR = r (f32). When $diffs is 0, $dg and $dr are not touched.
  (func (export "andersonDiffs")
    (param $g i32) (param $x i32) (param $pg i32) (param $pr i32) (param $r i32)
    (param $dg i32) (param $dr i32) (param $diffs i32) (param $n i32)
    (local $e4 i32) (local $end i32) (local $vg v128) (local $vr v128) (local $sg f32) (local $sr f32)
    ;; g walks g; every other array is at g + (its offset - g).
    (local.set $x (i32.sub (local.get $x) (local.get $g)))
    (local.set $pg (i32.sub (local.get $pg) (local.get $g)))
    (local.set $pr (i32.sub (local.get $pr) (local.get $g)))
    (local.set $r (i32.sub (local.get $r) (local.get $g)))
    (local.set $dg (i32.sub (local.get $dg) (local.get $g)))
    (local.set $dr (i32.sub (local.get $dr) (local.get $g)))
    (local.set $end (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $g) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $d4
      (br_if $d4 (i32.ge_u (local.get $g) (local.get $e4)))
      (loop $l4
        (local.set $vg (v128.load align=4 (local.get $g)))
        (local.set $vr (f32x4.sub (local.get $vg) (v128.load align=4 (i32.add (local.get $g) (local.get $x)))))
        (if (local.get $diffs)
          (then
            (v128.store align=4 (i32.add (local.get $g) (local.get $dg))
              (f32x4.sub (local.get $vg) (v128.load align=4 (i32.add (local.get $g) (local.get $pg)))))
            (v128.store align=4 (i32.add (local.get $g) (local.get $dr))
              (f32x4.sub (local.get $vr) (v128.load align=4 (i32.add (local.get $g) (local.get $pr)))))))
        (v128.store align=4 (i32.add (local.get $g) (local.get $pg)) (local.get $vg))
        (v128.store align=4 (i32.add (local.get $g) (local.get $pr)) (local.get $vr))
        (v128.store align=4 (i32.add (local.get $g) (local.get $r)) (local.get $vr))
        (br_if $l4 (i32.lt_u (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $e4)))))
    (block $d1
      (br_if $d1 (i32.ge_u (local.get $g) (local.get $end)))
      (loop $l1
        (local.set $sg (f32.load (local.get $g)))
        (local.set $sr (f32.sub (local.get $sg) (f32.load (i32.add (local.get $g) (local.get $x)))))
        (if (local.get $diffs)
          (then
            (f32.store (i32.add (local.get $g) (local.get $dg))
              (f32.sub (local.get $sg) (f32.load (i32.add (local.get $g) (local.get $pg)))))
            (f32.store (i32.add (local.get $g) (local.get $dr))
              (f32.sub (local.get $sr) (f32.load (i32.add (local.get $g) (local.get $pr)))))))
        (f32.store (i32.add (local.get $g) (local.get $pg)) (local.get $sg))
        (f32.store (i32.add (local.get $g) (local.get $pr)) (local.get $sr))
        (f32.store (i32.add (local.get $g) (local.get $r)) (local.get $sr))
        (br_if $l1 (i32.lt_u (local.tee $g (i32.add (local.get $g) (i32.const 4))) (local.get $end))))))

  ;; adamUpdate: one step of tfjs' Adam (AdamOptimizer.applyGradients) over n floats,
  ;; every operation rounded to f32 in tfjs' order, for i < n:
  ;;   m = m*b1 + g*c1;  v = v*b2 + (g*g)*c2;  o = ((m/d1) / (sqrt(v/d2) + eps))*nlr + w
  ;; with c1 = 1 - beta1, c2 = 1 - beta2, d1 = 1 - beta1^t, d2 = 1 - beta2^t and
  ;; nlr = -learningRate (all f32). m and v are updated in place, the new w is written
  ;; at o (o = w: in place; else a disjoint array), g is read.
  (func (export "adamUpdate")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32)
    (param $d1 f32) (param $d2 f32) (param $eps f32) (param $nlr f32) (param $o i32)
    (local $e4 i32) (local $end i32)
    (local $vg v128) (local $vm v128) (local $vv v128)
    (local $sg f32) (local $sm f32) (local $sv f32)
    ;; w walks w; g, m, v and o are at w + (their offset - w).
    (local.set $g (i32.sub (local.get $g) (local.get $w)))
    (local.set $m (i32.sub (local.get $m) (local.get $w)))
    (local.set $v (i32.sub (local.get $v) (local.get $w)))
    (local.set $o (i32.sub (local.get $o) (local.get $w)))
    (local.set $end (i32.add (local.get $w) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $w) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $d4
      (br_if $d4 (i32.ge_u (local.get $w) (local.get $e4)))
      (loop $l4
        (local.set $vg (v128.load align=4 (i32.add (local.get $w) (local.get $g))))
        (local.set $vm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $w) (local.get $m))) (f32x4.splat (local.get $b1)))
                                  (f32x4.mul (local.get $vg) (f32x4.splat (local.get $c1)))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $w) (local.get $v))) (f32x4.splat (local.get $b2)))
                                  (f32x4.mul (f32x4.mul (local.get $vg) (local.get $vg)) (f32x4.splat (local.get $c2)))))
        (v128.store align=4 (i32.add (local.get $w) (local.get $m)) (local.get $vm))
        (v128.store align=4 (i32.add (local.get $w) (local.get $v)) (local.get $vv))
        (v128.store align=4 (i32.add (local.get $w) (local.get $o)) (f32x4.add
          (f32x4.mul (f32x4.div (f32x4.div (local.get $vm) (f32x4.splat (local.get $d1)))
                                (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $d2)))) (f32x4.splat (local.get $eps))))
                     (f32x4.splat (local.get $nlr)))
          (v128.load align=4 (local.get $w))))
        (br_if $l4 (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 16))) (local.get $e4)))))
    (block $d1
      (br_if $d1 (i32.ge_u (local.get $w) (local.get $end)))
      (loop $l1
        (local.set $sg (f32.load (i32.add (local.get $w) (local.get $g))))
        (local.set $sm (f32.add (f32.mul (f32.load (i32.add (local.get $w) (local.get $m))) (local.get $b1))
                                (f32.mul (local.get $sg) (local.get $c1))))
        (local.set $sv (f32.add (f32.mul (f32.load (i32.add (local.get $w) (local.get $v))) (local.get $b2))
                                (f32.mul (f32.mul (local.get $sg) (local.get $sg)) (local.get $c2))))
        (f32.store (i32.add (local.get $w) (local.get $m)) (local.get $sm))
        (f32.store (i32.add (local.get $w) (local.get $v)) (local.get $sv))
        (f32.store (i32.add (local.get $w) (local.get $o)) (f32.add
          (f32.mul (f32.div (f32.div (local.get $sm) (local.get $d1))
                            (f32.add (f32.sqrt (f32.div (local.get $sv) (local.get $d2))) (local.get $eps)))
                   (local.get $nlr))
          (f32.load (local.get $w))))
        (br_if $l1 (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 4))) (local.get $end))))))

  ;; momentumUpdate: one step of tfjs' SGD with momentum (MomentumOptimizer.applyGradients)
  ;; over n floats, every operation rounded to f32 in tfjs' order, for i < n:
  ;;   a = a*mom + g;  o = (nest ? g + a*mom : a)*nlr + w
  ;; with nlr = -learningRate (f32) and nest 0 or 1 (Nesterov). a is updated in place,
  ;; the new w is written at o (o = w: in place; else a disjoint array), g is read.
  (func (export "momentumUpdate")
    (param $w i32) (param $g i32) (param $a i32) (param $n i32)
    (param $mom f32) (param $nlr f32) (param $nest i32) (param $o i32)
    (local $e4 i32) (local $end i32) (local $va v128) (local $sa f32)
    ;; w walks w; g, a and o are at w + (their offset - w).
    (local.set $g (i32.sub (local.get $g) (local.get $w)))
    (local.set $a (i32.sub (local.get $a) (local.get $w)))
    (local.set $o (i32.sub (local.get $o) (local.get $w)))
    (local.set $end (i32.add (local.get $w) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $w) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $d4
      (br_if $d4 (i32.ge_u (local.get $w) (local.get $e4)))
      (loop $l4
        (v128.store align=4 (i32.add (local.get $w) (local.get $a))
          (local.tee $va (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $w) (local.get $a))) (f32x4.splat (local.get $mom)))
                                    (v128.load align=4 (i32.add (local.get $w) (local.get $g))))))
        (v128.store align=4 (i32.add (local.get $w) (local.get $o)) (f32x4.add
          (f32x4.mul (select (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $g)))
                                        (f32x4.mul (local.get $va) (f32x4.splat (local.get $mom))))
                             (local.get $va) (local.get $nest))
                     (f32x4.splat (local.get $nlr)))
          (v128.load align=4 (local.get $w))))
        (br_if $l4 (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 16))) (local.get $e4)))))
    (block $d1
      (br_if $d1 (i32.ge_u (local.get $w) (local.get $end)))
      (loop $l1
        (f32.store (i32.add (local.get $w) (local.get $a))
          (local.tee $sa (f32.add (f32.mul (f32.load (i32.add (local.get $w) (local.get $a))) (local.get $mom))
                                  (f32.load (i32.add (local.get $w) (local.get $g))))))
        (f32.store (i32.add (local.get $w) (local.get $o)) (f32.add
          (f32.mul (select (f32.add (f32.load (i32.add (local.get $w) (local.get $g)))
                                    (f32.mul (local.get $sa) (local.get $mom)))
                           (local.get $sa) (local.get $nest))
                   (local.get $nlr))
          (f32.load (local.get $w))))
        (br_if $l1 (i32.lt_u (local.tee $w (i32.add (local.get $w) (i32.const 4))) (local.get $end))))))
)
