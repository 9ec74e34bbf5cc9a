// Number syntax on bytes. Accepted (JSON-like, plus an optional leading '+' and a bare leading/trailing '.'):
//   [+-]? ( digits [ '.' digits? ] | '.' digits ) ( [eE] [+-]? digits )?
// No whitespace, no hex, no Infinity/NaN, no empty value (missing values are not supported in format 1).

/** 0: integer syntax, 1: other number syntax, 2: not a number. */
export type NumberClass = 0 | 1 | 2;

export function classifyNumber(b: Uint8Array, s: number, e: number): NumberClass {
  // One unsigned comparison per digit: `(c - 0x30) >>> 0 <= 9` holds exactly for '0'..'9'. Bytes read past `e` are
  // never used (every read is guarded by `i < e`).
  let i = s;
  if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++;
  const intStart = i;
  while (i < e && (b[i] - 0x30) >>> 0 <= 9) i++;
  let digits = i - intStart;
  let integer = true;
  if (i < e && b[i] === 0x2e) {
    integer = false;
    const fracStart = ++i;
    while (i < e && (b[i] - 0x30) >>> 0 <= 9) i++;
    digits += i - fracStart;
  }
  if (digits === 0) return 2;
  if (i === e) return integer ? 0 : 1;
  if (b[i] !== 0x65 && b[i] !== 0x45) return 2;
  i++;
  if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++;
  const expStart = i;
  while (i < e && (b[i] - 0x30) >>> 0 <= 9) i++;
  if (i === expStart || i !== e) return 2;
  return 1;
}

/** The value of a field that `classifyNumber` accepted (ASCII, so latin1 decoding is exact). */
export function numberValue(b: Buffer, s: number, e: number): number {
  return Number(b.toString('latin1', s, e));
}
