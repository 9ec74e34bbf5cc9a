// Number syntax on bytes. Accepted (JSON-like, plus an optional leading '+' and a bare leading/trailing '.'):
//   [+-]? ( digits [ '.' digits? ] | '.' digits ) ( [eE] [+-]? digits )?
// No whitespace, no hex, no Infinity/NaN, no empty value (missing values are not supported in format 1).

/** 0: integer syntax, 1: other number syntax, 2: not a number. */
export type NumberClass = 0 | 1 | 2;

export function classifyNumber(b: Uint8Array, s: number, e: number): NumberClass {
  let i = s;
  if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++;
  let digits = 0;
  while (i < e && b[i] >= 0x30 && b[i] <= 0x39) {
    i++;
    digits++;
  }
  let integer = true;
  if (i < e && b[i] === 0x2e) {
    integer = false;
    i++;
    while (i < e && b[i] >= 0x30 && b[i] <= 0x39) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return 2;
  if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
    integer = false;
    i++;
    if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const expStart = i;
    while (i < e && b[i] >= 0x30 && b[i] <= 0x39) i++;
    if (i === expStart) return 2;
  }
  if (i !== e) return 2;
  return integer ? 0 : 1;
}

/** The value of a field that `classifyNumber` accepted (ASCII, so latin1 decoding is exact). */
export function numberValue(b: Buffer, s: number, e: number): number {
  return Number(b.toString('latin1', s, e));
}
