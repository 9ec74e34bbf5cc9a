(module
  (memory (export "memory") 96)
  ;; Where $scan stopped: the offset after the last complete record it emitted, and why it stopped there:
  ;; 0 no complete record before n, 1 the record at $consumed needs the scalar path (a quote, or a CR not followed by
  ;; LF), 2 the entry area is full (call again from $consumed).
  (global $consumed (export "consumed") (mut i32) (i32.const 0))
  (global $status (export "status") (mut i32) (i32.const 0))

  ;; The mask pass alone: per 64 bytes from start (up to n, reading up to 63 bytes past it), the structural mask and the
  ;; non-digit mask as two i64 at out. Returns the end of what it wrote.
  (func (export "masks") (param $start i32) (param $n i32) (param $out i32) (result i32)
    (local $base i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local.set $base (local.get $start))
    (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $base) (local.get $n)))
      
    (local.set $v0 (v128.load offset=0 (local.get $base)))
    (local.set $v1 (v128.load offset=16 (local.get $base)))
    (local.set $v2 (v128.load offset=32 (local.get $base)))
    (local.set $v3 (v128.load offset=48 (local.get $base)))
      (i64.store offset=0 (local.get $out) (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v0) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v0) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v1) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v1) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v2) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v2) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v3) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v3) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 48)))))
      (i64.store offset=8 (local.get $out) (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v0) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v1) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v2) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v3) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 48)))))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $base (i32.add (local.get $base) (i32.const 64)))
      (br $blocks)))
    (local.get $out))

  
  ;; Tokenizes whole unquoted records from start (a record start) up to n, writing one entry per field at out (at most
  ;; cap entries). Returns the number of entries (flat: records) of the complete records; sets $consumed and $status.
  ;; The classes of all fields of a block are computed at once from its masks (fieldsWith): $bit1/$bit0 hold, at the
  ;; structural bit that ends each field, the two bits of its class; the walk only picks them up.
  (func (export "scan") (param $start i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
    (local $base i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $s i64) (local $F i64) (local $M i64) (local $nd i64) (local $e i64) (local $g i64) (local $dt i64)
    (local $o i64) (local $x i64) (local $sum i64) (local $c1 i64) (local $t i64) (local $h i64)
    (local $hO i64) (local $hE i64) (local $hD i64) (local $hB i64) (local $hP i64) (local $hP2 i64)
    (local $U i64) (local $T i64) (local $bit1 i64) (local $bit0 i64)
    (local $cO i64) (local $cE i64) (local $cD i64) (local $cB i64) (local $cP i64) (local $cP2 i64)
    (local $top i64) (local $b i64) (local $carry i64)
    (local $p i32) (local $c i32) (local $cls i32)
    (local $fs i32) (local $rec i32) (local $k i32) (local $kRec i32) (local $r i32)
    (local.set $base (local.get $start))
    (local.set $fs (local.get $start))
    (local.set $rec (local.get $start))
    ;; the scan starts on a field start
    (local.set $top (i64.const 1))
    (global.set $status (i32.const 0))
    (block $stop (block $full (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $base) (local.get $n)))
      ;; A block has at most 64 fields: stop at the last record boundary when they might not fit.
      (br_if $full (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cap)))
      
    (local.set $v0 (v128.load offset=0 (local.get $base)))
    (local.set $v1 (v128.load offset=16 (local.get $base)))
    (local.set $v2 (v128.load offset=32 (local.get $base)))
    (local.set $v3 (v128.load offset=48 (local.get $base)))
      (local.set $F (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v0) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v0) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v1) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v1) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v2) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v2) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v3) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v3) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 48)))))
      (local.set $M (i64.xor (local.get $F) (i64.const -1)))
      (local.set $nd (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v0) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v1) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v2) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v3) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 48)))))
      (local.set $e (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v0) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v1) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v2) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v3) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 48)))))
      (local.set $g (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v0) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v1) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v2) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v3) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 48)))))
      (local.set $dt (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v0) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v1) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v2) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v3) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 48)))))
      ;; other: a non-digit, non-structural byte that is not a dot, sign or exponent mark
      (local.set $o (i64.and (i64.and (local.get $nd) (local.get $M))
        (i64.xor (i64.or (i64.or (local.get $dt) (local.get $g)) (local.get $e)) (i64.const -1))))
      
      (local.set $x (local.get $o))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cO)))
      (local.set $cO (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cO)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hO (local.get $h))
      
      (local.set $x (local.get $e))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cE)))
      (local.set $cE (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cE)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hE (local.get $h))
      
      (local.set $x (i64.xor (local.get $nd) (i64.const -1)))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cD)))
      (local.set $cD (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cD)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hD (local.get $h))
      ;; a sign anywhere but at a field's first byte
      
      (local.set $x (i64.and (local.get $g) (i64.xor (i64.or (i64.shl (local.get $F) (i64.const 1)) (local.get $top)) (i64.const -1))))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cB)))
      (local.set $cB (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cB)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hB (local.get $h))
      (local.set $top (i64.shr_u (local.get $F) (i64.const 63)))
      
      (local.set $x (local.get $dt))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cP)))
      (local.set $cP (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cP)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hP (local.get $h))
      ;; a second dot: a dot with a carry in
      
      (local.set $x (i64.and (local.get $dt) (local.get $t)))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cP2)))
      (local.set $cP2 (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cP2)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hP2 (local.get $h))
      ;; classOfTally: another byte is text; else an exponent mark unknown; else a misplaced sign, no digit or two dots
      ;; text; else a dot float, else int. Class 3 = U, 2 = T, 1 = dot only.
      (local.set $U (i64.and (local.get $hE) (i64.xor (local.get $hO) (i64.const -1))))
      (local.set $T (i64.or (local.get $hO) (i64.and (i64.xor (local.get $U) (i64.const -1))
        (i64.or (i64.or (local.get $hB) (i64.xor (local.get $hD) (i64.const -1))) (local.get $hP2)))))
      (local.set $bit1 (i64.or (local.get $U) (local.get $T)))
      (local.set $bit0 (i64.or (local.get $U) (i64.and (local.get $hP) (i64.xor (local.get $T) (i64.const -1)))))
      ;; $carry: the LF of a CRLF whose CR was the previous block's last byte (consumed with it).
      (local.set $s (i64.and (local.get $F) (i64.xor (local.get $carry) (i64.const -1))))
      (local.set $carry (i64.const 0))
      ;; The last block: no structural byte past n.
      (if (i32.lt_u (i32.sub (local.get $n) (local.get $base)) (i32.const 64)) (then
        (local.set $s (i64.and (local.get $s) (i64.sub
          (i64.shl (i64.const 1) (i64.extend_i32_u (i32.sub (local.get $n) (local.get $base)))) (i64.const 1))))))
      (block $blockEnd (loop $fields
        (br_if $blockEnd (i64.eqz (local.get $s)))
        (local.set $b (i64.and (local.get $s) (i64.sub (i64.const 0) (local.get $s))))
        (local.set $s (i64.xor (local.get $s) (local.get $b)))
        (local.set $p (i32.add (local.get $base) (i32.wrap_i64 (i64.ctz (local.get $b)))))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $stop (i32.eq (local.get $c) (i32.const 0x22)))
        ;; Fields of 64 bytes or more are not classified. The class bits taken are cleared from $bit1/$bit0: that makes
        ;; them loop variables, so V8 computes them once per block (else TurboFan sinks the whole class computation
        ;; into this loop and redoes it for every field, from spilled masks).
        (local.set $x (i64.and (local.get $bit1) (local.get $b)))
        (local.set $bit1 (i64.xor (local.get $bit1) (local.get $x)))
        (local.set $t (i64.and (local.get $bit0) (local.get $b)))
        (local.set $bit0 (i64.xor (local.get $bit0) (local.get $t)))
        (local.set $cls (select (i32.const 3)
          (i32.or (i32.shl (i64.ne (local.get $x) (i64.const 0)) (i32.const 1)) (i64.ne (local.get $t) (i64.const 0)))
          (i32.gt_u (i32.sub (local.get $p) (local.get $fs)) (i32.const 63))))
        (if (i32.eq (local.get $c) (i32.const 0x2c))
          (then
            (i32.store (i32.add (i32.add (local.get $out) (i32.const 0)) (i32.shl (local.get $k) (i32.const 2)))
           (i32.or (i32.or (local.get $p) (i32.shl (local.get $cls) (i32.const 28))) (i32.const 0)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $fs (i32.add (local.get $p) (i32.const 1))))
          (else
            (if (i32.eq (local.get $c) (i32.const 0x0a))
              (then
                (i32.store (i32.add (i32.add (local.get $out) (i32.const 0)) (i32.shl (local.get $k) (i32.const 2)))
           (i32.or (i32.or (local.get $p) (i32.shl (local.get $cls) (i32.const 28))) (i32.const 1073741824)))
                (local.set $fs (i32.add (local.get $p) (i32.const 1))))
              (else
                ;; CR: a CRLF ends the record; CR as the last byte waits for more input; else the scalar path fails.
                (br_if $done (i32.ge_u (i32.add (local.get $p) (i32.const 1)) (local.get $n)))
                (br_if $stop (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x0a)))
                (i32.store (i32.add (i32.add (local.get $out) (i32.const 0)) (i32.shl (local.get $k) (i32.const 2)))
           (i32.or (i32.or (local.get $p) (i32.shl (local.get $cls) (i32.const 28))) (i32.const -1073741824)))
                ;; The LF is consumed too: in this block, or (CR last) the next block's first byte.
                (local.set $s (i64.and (local.get $s) (i64.xor (i64.shl (local.get $b) (i64.const 1)) (i64.const -1))))
                (local.set $carry (i64.shr_u (local.get $b) (i64.const 63)))
                (local.set $fs (i32.add (local.get $p) (i32.const 2)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $rec (local.get $fs))
            (local.set $kRec (local.get $k))))
        (br $fields)))
      (local.set $base (i32.add (local.get $base) (i32.const 64)))
      (br $blocks)))
      ;; $done: no complete record before n from $rec on.
      (global.set $consumed (local.get $rec))
      (return (local.get $kRec)))
    ;; $full: the entry area is full; call again from $consumed.
    (global.set $status (i32.const 2))
    (global.set $consumed (local.get $rec))
    (return (local.get $kRec)))
    ;; $stop: the record at $rec needs the scalar path.
    (global.set $status (i32.const 1))
    (global.set $consumed (local.get $rec))
    (local.get $kRec))

  
  ;; Tokenizes whole unquoted records from start (a record start) up to n, writing one entry per field at out (at most
  ;; cap entries). Returns the number of entries (flat: records) of the complete records; sets $consumed and $status.
  ;; The classes of all fields of a block are computed at once from its masks (fieldsWith): $bit1/$bit0 hold, at the
  ;; structural bit that ends each field, the two bits of its class; the walk only picks them up.
  (func (export "scanFlat") (param $start i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
    (local $base i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $s i64) (local $F i64) (local $M i64) (local $nd i64) (local $e i64) (local $g i64) (local $dt i64)
    (local $o i64) (local $x i64) (local $sum i64) (local $c1 i64) (local $t i64) (local $h i64)
    (local $hO i64) (local $hE i64) (local $hD i64) (local $hB i64) (local $hP i64) (local $hP2 i64)
    (local $U i64) (local $T i64) (local $bit1 i64) (local $bit0 i64)
    (local $cO i64) (local $cE i64) (local $cD i64) (local $cB i64) (local $cP i64) (local $cP2 i64)
    (local $top i64) (local $b i64) (local $carry i64)
    (local $p i32) (local $c i32) (local $cls i32)
    (local $fs i32) (local $rec i32) (local $k i32) (local $kRec i32) (local $r i32)
    (local.set $base (local.get $start))
    (local.set $fs (local.get $start))
    (local.set $rec (local.get $start))
    ;; the scan starts on a field start
    (local.set $top (i64.const 1))
    (global.set $status (i32.const 0))
    (block $stop (block $full (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $base) (local.get $n)))
      ;; A block has at most 64 fields: stop at the last record boundary when they might not fit.
      (br_if $full (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cap)))
      
    (local.set $v0 (v128.load offset=0 (local.get $base)))
    (local.set $v1 (v128.load offset=16 (local.get $base)))
    (local.set $v2 (v128.load offset=32 (local.get $base)))
    (local.set $v3 (v128.load offset=48 (local.get $base)))
      (local.set $F (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v0) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v0) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v1) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v1) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v2) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v2) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v3) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v3) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 48)))))
      (local.set $M (i64.xor (local.get $F) (i64.const -1)))
      (local.set $nd (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v0) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v1) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v2) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v3) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 48)))))
      (local.set $e (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v0) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v1) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v2) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v3) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 48)))))
      (local.set $g (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v0) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v1) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v2) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v3) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 48)))))
      (local.set $dt (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v0) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v1) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v2) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v3) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 48)))))
      ;; other: a non-digit, non-structural byte that is not a dot, sign or exponent mark
      (local.set $o (i64.and (i64.and (local.get $nd) (local.get $M))
        (i64.xor (i64.or (i64.or (local.get $dt) (local.get $g)) (local.get $e)) (i64.const -1))))
      
      (local.set $x (local.get $o))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cO)))
      (local.set $cO (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cO)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hO (local.get $h))
      
      (local.set $x (local.get $e))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cE)))
      (local.set $cE (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cE)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hE (local.get $h))
      
      (local.set $x (i64.xor (local.get $nd) (i64.const -1)))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cD)))
      (local.set $cD (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cD)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hD (local.get $h))
      ;; a sign anywhere but at a field's first byte
      
      (local.set $x (i64.and (local.get $g) (i64.xor (i64.or (i64.shl (local.get $F) (i64.const 1)) (local.get $top)) (i64.const -1))))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cB)))
      (local.set $cB (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cB)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hB (local.get $h))
      (local.set $top (i64.shr_u (local.get $F) (i64.const 63)))
      
      (local.set $x (local.get $dt))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cP)))
      (local.set $cP (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cP)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hP (local.get $h))
      ;; a second dot: a dot with a carry in
      
      (local.set $x (i64.and (local.get $dt) (local.get $t)))
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get $cP2)))
      (local.set $cP2 (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $cP2)))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))
      (local.set $hP2 (local.get $h))
      ;; classOfTally: another byte is text; else an exponent mark unknown; else a misplaced sign, no digit or two dots
      ;; text; else a dot float, else int. Class 3 = U, 2 = T, 1 = dot only.
      (local.set $U (i64.and (local.get $hE) (i64.xor (local.get $hO) (i64.const -1))))
      (local.set $T (i64.or (local.get $hO) (i64.and (i64.xor (local.get $U) (i64.const -1))
        (i64.or (i64.or (local.get $hB) (i64.xor (local.get $hD) (i64.const -1))) (local.get $hP2)))))
      (local.set $bit1 (i64.or (local.get $U) (local.get $T)))
      (local.set $bit0 (i64.or (local.get $U) (i64.and (local.get $hP) (i64.xor (local.get $T) (i64.const -1)))))
      ;; $carry: the LF of a CRLF whose CR was the previous block's last byte (consumed with it).
      (local.set $s (i64.and (local.get $F) (i64.xor (local.get $carry) (i64.const -1))))
      (local.set $carry (i64.const 0))
      ;; The last block: no structural byte past n.
      (if (i32.lt_u (i32.sub (local.get $n) (local.get $base)) (i32.const 64)) (then
        (local.set $s (i64.and (local.get $s) (i64.sub
          (i64.shl (i64.const 1) (i64.extend_i32_u (i32.sub (local.get $n) (local.get $base)))) (i64.const 1))))))
      (block $blockEnd (loop $fields
        (br_if $blockEnd (i64.eqz (local.get $s)))
        (local.set $b (i64.and (local.get $s) (i64.sub (i64.const 0) (local.get $s))))
        (local.set $s (i64.xor (local.get $s) (local.get $b)))
        (local.set $p (i32.add (local.get $base) (i32.wrap_i64 (i64.ctz (local.get $b)))))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $stop (i32.eq (local.get $c) (i32.const 0x22)))
        ;; Fields of 64 bytes or more are not classified. The class bits taken are cleared from $bit1/$bit0: that makes
        ;; them loop variables, so V8 computes them once per block (else TurboFan sinks the whole class computation
        ;; into this loop and redoes it for every field, from spilled masks).
        (local.set $x (i64.and (local.get $bit1) (local.get $b)))
        (local.set $bit1 (i64.xor (local.get $bit1) (local.get $x)))
        (local.set $t (i64.and (local.get $bit0) (local.get $b)))
        (local.set $bit0 (i64.xor (local.get $bit0) (local.get $t)))
        (local.set $cls (select (i32.const 3)
          (i32.or (i32.shl (i64.ne (local.get $x) (i64.const 0)) (i32.const 1)) (i64.ne (local.get $t) (i64.const 0)))
          (i32.gt_u (i32.sub (local.get $p) (local.get $fs)) (i32.const 63))))
        (if (i32.eq (local.get $c) (i32.const 0x2c))
          (then
            (i32.store (i32.add (i32.add (local.get $out) (i32.const 0)) (i32.shl (local.get $k) (i32.const 2))) (local.get $fs))
         (i32.store (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 4))) (i32.shl (local.get $k) (i32.const 2))) (local.get $p))
         (i32.store8 (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 8))) (i32.shl (local.get $k) (i32.const 0))) (local.get $cls))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $fs (i32.add (local.get $p) (i32.const 1))))
          (else
            (if (i32.eq (local.get $c) (i32.const 0x0a))
              (then
                (i32.store (i32.add (i32.add (local.get $out) (i32.const 0)) (i32.shl (local.get $k) (i32.const 2))) (local.get $fs))
         (i32.store (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 4))) (i32.shl (local.get $k) (i32.const 2))) (local.get $p))
         (i32.store8 (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 8))) (i32.shl (local.get $k) (i32.const 0))) (local.get $cls))
         (i32.store (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 9))) (i32.shl (local.get $r) (i32.const 2)))
           (i32.or (i32.add (local.get $k) (i32.const 1)) (i32.const 0)))
         (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (local.set $fs (i32.add (local.get $p) (i32.const 1))))
              (else
                ;; CR: a CRLF ends the record; CR as the last byte waits for more input; else the scalar path fails.
                (br_if $done (i32.ge_u (i32.add (local.get $p) (i32.const 1)) (local.get $n)))
                (br_if $stop (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x0a)))
                (i32.store (i32.add (i32.add (local.get $out) (i32.const 0)) (i32.shl (local.get $k) (i32.const 2))) (local.get $fs))
         (i32.store (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 4))) (i32.shl (local.get $k) (i32.const 2))) (local.get $p))
         (i32.store8 (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 8))) (i32.shl (local.get $k) (i32.const 0))) (local.get $cls))
         (i32.store (i32.add (i32.add (local.get $out) (i32.mul (local.get $cap) (i32.const 9))) (i32.shl (local.get $r) (i32.const 2)))
           (i32.or (i32.add (local.get $k) (i32.const 1)) (i32.const -2147483648)))
         (local.set $r (i32.add (local.get $r) (i32.const 1)))
                ;; The LF is consumed too: in this block, or (CR last) the next block's first byte.
                (local.set $s (i64.and (local.get $s) (i64.xor (i64.shl (local.get $b) (i64.const 1)) (i64.const -1))))
                (local.set $carry (i64.shr_u (local.get $b) (i64.const 63)))
                (local.set $fs (i32.add (local.get $p) (i32.const 2)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $rec (local.get $fs))
            (local.set $kRec (local.get $k))))
        (br $fields)))
      (local.set $base (i32.add (local.get $base) (i32.const 64)))
      (br $blocks)))
      ;; $done: no complete record before n from $rec on.
      (global.set $consumed (local.get $rec))
      (return (local.get $r)))
    ;; $full: the entry area is full; call again from $consumed.
    (global.set $status (i32.const 2))
    (global.set $consumed (local.get $rec))
    (return (local.get $r)))
    ;; $stop: the record at $rec needs the scalar path.
    (global.set $status (i32.const 1))
    (global.set $consumed (local.get $rec))
    (local.get $r))

)
