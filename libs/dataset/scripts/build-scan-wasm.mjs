// Generates the CSV tokenizer's WebAssembly SIMD scan (tokenizer.ts): writes the WAT source
// libs/dataset/src/wasm/scan.wat (generated here because the 4 x 16-lane mask expressions are repetitive), assembles it
// with wabt 1.0.36 and writes libs/dataset/src/scan-wasm.ts, the module's bytes as base64 with their sha256 (checked by
// scan-wasm.spec.ts). Deterministic: a rerun with the same wabt reproduces both files byte for byte, so a CI job can
// rerun it and fail on a diff. wabt is a tool, not a dependency of the project: install it outside the project with
// `npm install --prefix /tmp/wasmtools wabt@1.0.36`, then `node libs/dataset/scripts/build-scan-wasm.mjs`
// (or WABT=<path to the wabt package>).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const src = new URL('../src/', import.meta.url);
const require = createRequire(import.meta.url);
const wabt = await require(process.env.WABT ?? '/tmp/wasmtools/node_modules/wabt')();

/** The i64 mask of 64 bytes (v0..v3): bit i set when lane expression `f(v)` is true for byte i. */
const mask64 = (f) => {
  const part = (v, shift) => {
    const m = `(i64.extend_i32_u (i8x16.bitmask ${f(v)}))`;
    return shift ? `(i64.shl ${m} (i64.const ${shift}))` : m;
  };
  return `(i64.or (i64.or ${part('(local.get $v0)', 0)} ${part('(local.get $v1)', 16)})
                  (i64.or ${part('(local.get $v2)', 32)} ${part('(local.get $v3)', 48)}))`;
};
const eq = (v, c) => `(i8x16.eq ${v} (v128.const i8x16 ${Array(16).fill(c).join(' ')}))`;
const splat = (c) => `(v128.const i8x16 ${Array(16).fill(c).join(' ')})`;
/** ',' LF CR '"': the bytes that end an unquoted field. */
const structural = (v) => `(v128.or (v128.or ${eq(v, 0x2c)} ${eq(v, 0x0a)}) (v128.or ${eq(v, 0x0d)} ${eq(v, 0x22)}))`;
/** Not '0'..'9': (b - '0') >u 9. */
const nonDigit = (v) => `(i8x16.gt_u (i8x16.sub ${v} ${splat(0x30)}) ${splat(9)})`;
const dot = (v) => eq(v, 0x2e);
const sign = (v) => `(v128.or ${eq(v, 0x2b)} ${eq(v, 0x2d)})`;
/** 'e' or 'E' (b | 0x20 == 'e'). */
const expMark = (v) => `(i8x16.eq (v128.or ${v} ${splat(0x20)}) ${splat(0x65)})`;

const loads = `
    (local.set $v0 (v128.load offset=0 (local.get $base)))
    (local.set $v1 (v128.load offset=16 (local.get $base)))
    (local.set $v2 (v128.load offset=32 (local.get $base)))
    (local.set $v3 (v128.load offset=48 (local.get $base)))`;

// Entries written by $scan, one i32 per field: end (bits 0..27, an offset in memory), class (bits 28..29, tokenizer
// FIELD_*), bit 30 the field ends its record, bit 31 the record ended with CRLF (next record at end + 2, else end + 1).
/**
 * The scan function. Entries (flat = false): one i32 per field at out (see above); returns the entries of the complete
 * records. Flat: the record sink's own arrays, for a consumer that reads records in batches: starts (i32) at out, ends
 * (i32) at out + 4 cap, classes (u8) at out + 8 cap, and per record (i32 at out + 9 cap) the index after its last field,
 * with bit 31 set when it ended with CRLF; returns the number of records.
 */
function scanFunc(name, flat) {
  const at = (shift, extra) =>
    `(i32.add (i32.add (local.get $out) ${extra}) (i32.shl (local.get $k) (i32.const ${shift})))`;
  const cap = (times) => `(i32.mul (local.get $cap) (i32.const ${times}))`;
  const store = (flags) =>
    !flat
      ? `(i32.store ${at(2, '(i32.const 0)')}
           (i32.or (i32.or (local.get $p) (i32.shl (local.get $cls) (i32.const 28))) (i32.const ${flags | 0})))`
      : `(i32.store ${at(2, '(i32.const 0)')} (local.get $fs))
         (i32.store ${at(2, cap(4))} (local.get $p))
         (i32.store8 ${at(0, cap(8))} (local.get $cls))` +
        (flags === 0
          ? ''
          : `
         (i32.store (i32.add (i32.add (local.get $out) ${cap(9)}) (i32.shl (local.get $r) (i32.const 2)))
           (i32.or (i32.add (local.get $k) (i32.const 1)) (i32.const ${flags < 0 || flags > 0x7fffffff ? 0x80000000 | 0 : 0})))
         (local.set $r (i32.add (local.get $r) (i32.const 1)))`);
  const ret = flat ? '(local.get $r)' : '(local.get $kRec)';
  /**
   * Per block, the structural bits that end a field containing at least one bit of `x` (x has no structural bit):
   * adding x to the non-structural bits carries out of each field run that holds an x bit into the structural bit that
   * ends it (its carry-in comes from the previous block: a field spanning blocks). Sets $h; keeps $t = carries into
   * each position (an x bit with a carry in is not the first of its field).
   */
  const fieldsWith = (x, carry) => `
      (local.set $x ${x})
      (local.set $sum (i64.add (local.get $M) (local.get $x)))
      (local.set $c1 (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get $M))))
      (local.set $sum (i64.add (local.get $sum) (local.get ${carry})))
      (local.set ${carry} (i64.or (local.get $c1) (i64.extend_i32_u (i64.lt_u (local.get $sum) (local.get ${carry})))))
      (local.set $t (i64.xor (i64.xor (local.get $sum) (local.get $M)) (local.get $x)))
      (local.set $h (i64.and (local.get $sum) (local.get $F)))`;
  const not = (x) => `(i64.xor ${x} (i64.const -1))`;
  return `
  ;; Tokenizes whole unquoted records from start (a record start) up to n, writing one entry per field at out (at most
  ;; cap entries). Returns the number of entries (flat: records) of the complete records; sets $consumed and $status.
  ;; The classes of all fields of a block are computed at once from its masks (fieldsWith): $bit1/$bit0 hold, at the
  ;; structural bit that ends each field, the two bits of its class; the walk only picks them up.
  (func (export "${name}") (param $start i32) (param $n i32) (param $out i32) (param $cap i32) (result i32)
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
      ${loads}
      (local.set $F ${mask64(structural)})
      (local.set $M ${not('(local.get $F)')})
      (local.set $nd ${mask64(nonDigit)})
      (local.set $e ${mask64(expMark)})
      (local.set $g ${mask64(sign)})
      (local.set $dt ${mask64(dot)})
      ;; other: a non-digit, non-structural byte that is not a dot, sign or exponent mark
      (local.set $o (i64.and (i64.and (local.get $nd) (local.get $M))
        ${not('(i64.or (i64.or (local.get $dt) (local.get $g)) (local.get $e))')}))
      ${fieldsWith('(local.get $o)', '$cO')}
      (local.set $hO (local.get $h))
      ${fieldsWith('(local.get $e)', '$cE')}
      (local.set $hE (local.get $h))
      ${fieldsWith(not('(local.get $nd)'), '$cD')}
      (local.set $hD (local.get $h))
      ;; a sign anywhere but at a field's first byte
      ${fieldsWith(`(i64.and (local.get $g) ${not('(i64.or (i64.shl (local.get $F) (i64.const 1)) (local.get $top))')})`, '$cB')}
      (local.set $hB (local.get $h))
      (local.set $top (i64.shr_u (local.get $F) (i64.const 63)))
      ${fieldsWith('(local.get $dt)', '$cP')}
      (local.set $hP (local.get $h))
      ;; a second dot: a dot with a carry in
      ${fieldsWith('(i64.and (local.get $dt) (local.get $t))', '$cP2')}
      (local.set $hP2 (local.get $h))
      ;; classOfTally: another byte is text; else an exponent mark unknown; else a misplaced sign, no digit or two dots
      ;; text; else a dot float, else int. Class 3 = U, 2 = T, 1 = dot only.
      (local.set $U (i64.and (local.get $hE) ${not('(local.get $hO)')}))
      (local.set $T (i64.or (local.get $hO) (i64.and ${not('(local.get $U)')}
        (i64.or (i64.or (local.get $hB) ${not('(local.get $hD)')}) (local.get $hP2)))))
      (local.set $bit1 (i64.or (local.get $U) (local.get $T)))
      (local.set $bit0 (i64.or (local.get $U) (i64.and (local.get $hP) ${not('(local.get $T)')})))
      ;; $carry: the LF of a CRLF whose CR was the previous block's last byte (consumed with it).
      (local.set $s (i64.and (local.get $F) ${not('(local.get $carry)')}))
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
            ${store(0)}
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (local.set $fs (i32.add (local.get $p) (i32.const 1))))
          (else
            (if (i32.eq (local.get $c) (i32.const 0x0a))
              (then
                ${store(0x40000000)}
                (local.set $fs (i32.add (local.get $p) (i32.const 1))))
              (else
                ;; CR: a CRLF ends the record; CR as the last byte waits for more input; else the scalar path fails.
                (br_if $done (i32.ge_u (i32.add (local.get $p) (i32.const 1)) (local.get $n)))
                (br_if $stop (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x0a)))
                ${store(0xc0000000)}
                ;; The LF is consumed too: in this block, or (CR last) the next block's first byte.
                (local.set $s (i64.and (local.get $s) ${not('(i64.shl (local.get $b) (i64.const 1))')}))
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
      (return ${ret}))
    ;; $full: the entry area is full; call again from $consumed.
    (global.set $status (i32.const 2))
    (global.set $consumed (local.get $rec))
    (return ${ret}))
    ;; $stop: the record at $rec needs the scalar path.
    (global.set $status (i32.const 1))
    (global.set $consumed (local.get $rec))
    ${ret})
`;
}

const wat = `(module
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
      ${loads}
      (i64.store offset=0 (local.get $out) ${mask64(structural)})
      (i64.store offset=8 (local.get $out) ${mask64(nonDigit)})
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (local.set $base (i32.add (local.get $base) (i32.const 64)))
      (br $blocks)))
    (local.get $out))

  ${scanFunc('scan', false)}
  ${scanFunc('scanFlat', true)}
)
`;

writeFileSync(new URL('wasm/scan.wat', src), wat);
const mod = wabt.parseWat('scan.wat', wat, { simd: true });
mod.validate();
const { buffer } = mod.toBinary({});
const bytes = Buffer.from(buffer);
const sha256 = createHash('sha256').update(bytes).digest('hex');
const base64 = bytes.toString('base64');
const lines = base64.match(/.{1,112}/g).map((l) => `  '${l}' +`);
const ts = `// Generated by libs/dataset/scripts/build-scan-wasm.mjs from wasm/scan.wat (wabt 1.0.36): do not edit.
// The CSV tokenizer's WebAssembly SIMD scan (tokenizer.ts), ${bytes.length} bytes.

/** sha256 of the module's bytes, as the generator computed it (scan-wasm.spec.ts checks SCAN_WASM against it). */
export const SCAN_WASM_SHA256 = '${sha256}';

/** The module, base64. */
export const SCAN_WASM =
${lines.join('\n').slice(0, -2)};
`;
writeFileSync(new URL('scan-wasm.ts', src), ts);
console.log(`scan.wasm ${bytes.length} bytes sha256 ${sha256}`);
