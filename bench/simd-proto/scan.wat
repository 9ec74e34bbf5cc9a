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

  ;; The class of field [fs, fs+len) (tokenizer.ts classOfTally) from its counts of non-digits ($nd), other bytes that no
  ;; number has ($o), exponent marks ($e) and signs ($g). Only called for a field under 64 bytes with a non-digit.
  (func $classOf (param $fs i32) (param $len i32) (param $nd i32) (param $o i32) (param $e i32) (param $g i32) (result i32)
    (local $c i32)
    (if (local.get $o) (then (return (i32.const 2))))
    (if (local.get $e) (then (return (i32.const 3))))
    (if (local.get $g) (then
      (if (i32.gt_u (local.get $g) (i32.const 1)) (then (return (i32.const 2))))
      (local.set $c (i32.load8_u (local.get $fs)))
      (if (i32.and (i32.ne (local.get $c) (i32.const 0x2b)) (i32.ne (local.get $c) (i32.const 0x2d)))
        (then (return (i32.const 2))))))
    ;; Only digits, dots and a leading sign are left: no digit or two dots is text, one dot a float, none an integer.
    (if (i32.eq (local.get $nd) (local.get $len)) (then (return (i32.const 2))))
    (local.set $c (i32.sub (local.get $nd) (local.get $g)))
    (if (i32.gt_u (local.get $c) (i32.const 1)) (then (return (i32.const 2))))
    (local.get $c))

  
  ;; Tokenizes whole unquoted records from start (a record start) up to n, writing one entry per field at out (at most
  ;; cap entries). Returns the number of entries (flat: records) of the complete records; sets $consumed and $status.
  ;; Per field, no shift by a variable count: $b isolates the lowest structural bit, $done has the bits of the block
  ;; already consumed, so the field's bits in this block are ($b - 1) & ~$done.
  (func (export "scan") (param $start i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
    (local $base i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $s i64) (local $nd i64) (local $o i64) (local $e i64) (local $g i64) (local $m i64)
    (local $b i64) (local $done i64) (local $carry i64)
    (local $p i32) (local $c i32) (local $cls i32)
    (local $fs i32) (local $rec i32) (local $k i32) (local $kRec i32) (local $r i32)
    (local $len i32) (local $cnd i32) (local $and i32) (local $ao i32) (local $ae i32) (local $ag i32)
    (local.set $base (local.get $start))
    (local.set $fs (local.get $start))
    (local.set $rec (local.get $start))
    (global.set $status (i32.const 0))
    (block $stop (block $full (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $base) (local.get $n)))
      ;; A block has at most 64 fields: stop at the last record boundary when they might not fit.
      (br_if $full (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cap)))
      
    (local.set $v0 (v128.load offset=0 (local.get $base)))
    (local.set $v1 (v128.load offset=16 (local.get $base)))
    (local.set $v2 (v128.load offset=32 (local.get $base)))
    (local.set $v3 (v128.load offset=48 (local.get $base)))
      ;; $carry: the LF of a CRLF whose CR was the previous block's last byte (consumed with it).
      (local.set $done (local.get $carry))
      (local.set $carry (i64.const 0))
      (local.set $s (i64.and (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v0) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v0) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v1) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v1) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v2) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v2) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v3) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v3) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 48)))) (i64.xor (local.get $done) (i64.const -1))))
      (local.set $nd (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v0) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v1) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v2) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v3) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 48)))))
      (local.set $e (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v0) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v1) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v2) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v3) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 48)))))
      (local.set $g (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v0) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v1) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v2) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v3) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 48)))))
      ;; other = non-digit and not a dot, sign or exponent mark
      (local.set $o (i64.and (local.get $nd) (i64.xor
        (i64.or (i64.or (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v0) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v1) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v2) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v3) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 48)))) (local.get $g)) (local.get $e)) (i64.const -1))))
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
        ;; The field [fs, p): its bytes in this block.
        (local.set $m (i64.and (i64.sub (local.get $b) (i64.const 1)) (i64.xor (local.get $done) (i64.const -1))))
        (local.set $done (i64.sub (i64.shl (local.get $b) (i64.const 1)) (i64.const 1)))
        ;; Fields of 64 bytes or more are not classified; all digits is an integer (empty: text); else $classOf.
        (local.set $len (i32.sub (local.get $p) (local.get $fs)))
        (local.set $cnd (i32.add (local.get $and) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $nd) (local.get $m))))))
        (local.set $cls
          (if (result i32) (i32.gt_u (local.get $len) (i32.const 63))
            (then (i32.const 3))
            (else (if (result i32) (i32.eqz (local.get $cnd))
              (then (select (i32.const 0) (i32.const 2) (local.get $len)))
              (else (call $classOf (local.get $fs) (local.get $len) (local.get $cnd)
                (i32.add (local.get $ao) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $o) (local.get $m)))))
                (i32.add (local.get $ae) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $e) (local.get $m)))))
                (i32.add (local.get $ag) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $g) (local.get $m)))))))))))
        (local.set $and (i32.const 0)) (local.set $ao (i32.const 0))
        (local.set $ae (i32.const 0)) (local.set $ag (i32.const 0))
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
                (local.set $done (i64.sub (i64.shl (local.get $b) (i64.const 2)) (i64.const 1)))
                (local.set $carry (i64.shr_u (local.get $b) (i64.const 63)))
                (local.set $fs (i32.add (local.get $p) (i32.const 2)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $rec (local.get $fs))
            (local.set $kRec (local.get $k))))
        (br $fields)))
      ;; The field still open at the end of the block: add its counts so far.
      (local.set $m (i64.xor (local.get $done) (i64.const -1)))
      (local.set $and (i32.add (local.get $and) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $nd) (local.get $m))))))
      (local.set $ao (i32.add (local.get $ao) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $o) (local.get $m))))))
      (local.set $ae (i32.add (local.get $ae) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $e) (local.get $m))))))
      (local.set $ag (i32.add (local.get $ag) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $g) (local.get $m))))))
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
  ;; Per field, no shift by a variable count: $b isolates the lowest structural bit, $done has the bits of the block
  ;; already consumed, so the field's bits in this block are ($b - 1) & ~$done.
  (func (export "scanFlat") (param $start i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
    (local $base i32) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $s i64) (local $nd i64) (local $o i64) (local $e i64) (local $g i64) (local $m i64)
    (local $b i64) (local $done i64) (local $carry i64)
    (local $p i32) (local $c i32) (local $cls i32)
    (local $fs i32) (local $rec i32) (local $k i32) (local $kRec i32) (local $r i32)
    (local $len i32) (local $cnd i32) (local $and i32) (local $ao i32) (local $ae i32) (local $ag i32)
    (local.set $base (local.get $start))
    (local.set $fs (local.get $start))
    (local.set $rec (local.get $start))
    (global.set $status (i32.const 0))
    (block $stop (block $full (block $done (loop $blocks
      (br_if $done (i32.ge_u (local.get $base) (local.get $n)))
      ;; A block has at most 64 fields: stop at the last record boundary when they might not fit.
      (br_if $full (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cap)))
      
    (local.set $v0 (v128.load offset=0 (local.get $base)))
    (local.set $v1 (v128.load offset=16 (local.get $base)))
    (local.set $v2 (v128.load offset=32 (local.get $base)))
    (local.set $v3 (v128.load offset=48 (local.get $base)))
      ;; $carry: the LF of a CRLF whose CR was the previous block's last byte (consumed with it).
      (local.set $done (local.get $carry))
      (local.set $carry (i64.const 0))
      (local.set $s (i64.and (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v0) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v0) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v1) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v1) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v2) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v2) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)) (i8x16.eq (local.get $v3) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))) (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13)) (i8x16.eq (local.get $v3) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))) (i64.const 48)))) (i64.xor (local.get $done) (i64.const -1))))
      (local.set $nd (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v0) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v1) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v2) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.gt_u (i8x16.sub (local.get $v3) (v128.const i8x16 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48 48)) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9)))) (i64.const 48)))))
      (local.set $e (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v0) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v1) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v2) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (v128.or (local.get $v3) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32)) (v128.const i8x16 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101 101)))) (i64.const 48)))))
      (local.set $g (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v0) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v1) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v1) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v2) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v2) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (v128.or (i8x16.eq (local.get $v3) (v128.const i8x16 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43 43)) (i8x16.eq (local.get $v3) (v128.const i8x16 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45 45))))) (i64.const 48)))))
      ;; other = non-digit and not a dot, sign or exponent mark
      (local.set $o (i64.and (local.get $nd) (i64.xor
        (i64.or (i64.or (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v0) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v1) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 16)))
                  (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v2) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $v3) (v128.const i8x16 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46 46)))) (i64.const 48)))) (local.get $g)) (local.get $e)) (i64.const -1))))
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
        ;; The field [fs, p): its bytes in this block.
        (local.set $m (i64.and (i64.sub (local.get $b) (i64.const 1)) (i64.xor (local.get $done) (i64.const -1))))
        (local.set $done (i64.sub (i64.shl (local.get $b) (i64.const 1)) (i64.const 1)))
        ;; Fields of 64 bytes or more are not classified; all digits is an integer (empty: text); else $classOf.
        (local.set $len (i32.sub (local.get $p) (local.get $fs)))
        (local.set $cnd (i32.add (local.get $and) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $nd) (local.get $m))))))
        (local.set $cls
          (if (result i32) (i32.gt_u (local.get $len) (i32.const 63))
            (then (i32.const 3))
            (else (if (result i32) (i32.eqz (local.get $cnd))
              (then (select (i32.const 0) (i32.const 2) (local.get $len)))
              (else (call $classOf (local.get $fs) (local.get $len) (local.get $cnd)
                (i32.add (local.get $ao) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $o) (local.get $m)))))
                (i32.add (local.get $ae) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $e) (local.get $m)))))
                (i32.add (local.get $ag) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $g) (local.get $m)))))))))))
        (local.set $and (i32.const 0)) (local.set $ao (i32.const 0))
        (local.set $ae (i32.const 0)) (local.set $ag (i32.const 0))
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
                (local.set $done (i64.sub (i64.shl (local.get $b) (i64.const 2)) (i64.const 1)))
                (local.set $carry (i64.shr_u (local.get $b) (i64.const 63)))
                (local.set $fs (i32.add (local.get $p) (i32.const 2)))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $rec (local.get $fs))
            (local.set $kRec (local.get $k))))
        (br $fields)))
      ;; The field still open at the end of the block: add its counts so far.
      (local.set $m (i64.xor (local.get $done) (i64.const -1)))
      (local.set $and (i32.add (local.get $and) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $nd) (local.get $m))))))
      (local.set $ao (i32.add (local.get $ao) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $o) (local.get $m))))))
      (local.set $ae (i32.add (local.get $ae) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $e) (local.get $m))))))
      (local.set $ag (i32.add (local.get $ag) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $g) (local.get $m))))))
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
