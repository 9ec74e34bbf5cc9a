// Value syntax beyond numbers (numbers.ts), on bytes: booleans, ISO 8601 dates and date-times, missing tokens, and
// the public hash of a categorical value used by feature hashing.

/** `true` / `false` in any letter case. */
export function booleanValue(b: Uint8Array, s: number, e: number): 0 | 1 | -1 {
  // Byte-wise (no string per value): `| 0x20` lower-cases the ASCII letters, and a byte maps onto a letter of these
  // words only when it is that letter in either case.
  const len = e - s;
  if (len === 4)
    return (b[s] | 0x20) === 0x74 &&
      (b[s + 1] | 0x20) === 0x72 &&
      (b[s + 2] | 0x20) === 0x75 &&
      (b[s + 3] | 0x20) === 0x65
      ? 1
      : -1;
  if (len === 5)
    return (b[s] | 0x20) === 0x66 &&
      (b[s + 1] | 0x20) === 0x61 &&
      (b[s + 2] | 0x20) === 0x6c &&
      (b[s + 3] | 0x20) === 0x73 &&
      (b[s + 4] | 0x20) === 0x65
      ? 0
      : -1;
  return -1;
}

const digit = (c: number) => c >= 0x30 && c <= 0x39;
function digits(b: Uint8Array, s: number, n: number): number {
  let v = 0;
  for (let i = s; i < s + n; i++) {
    if (!digit(b[i])) return -1;
    v = v * 10 + (b[i] - 0x30);
  }
  return v;
}

/** Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar (H. Hinnant, days_from_civil). */
export function epochDays(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const daysIn = (y: number, m: number) =>
  m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;

/**
 * ISO 8601 calendar date `YYYY-MM-DD` (ISO 8601-1:2019 §5.2.2.1, extended format): days since 1970-01-01, or NaN
 * when `b[s..e)` is not one.
 */
export function dateValue(b: Uint8Array, s: number, e: number): number {
  if (e - s !== 10 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d) return NaN;
  const y = digits(b, s, 4);
  const m = digits(b, s + 5, 2);
  const d = digits(b, s + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return NaN;
  return epochDays(y, m, d);
}

/**
 * ISO 8601 date-time `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM]` (RFC 3339 §5.6, minutes-only and offset-free
 * forms admitted; no offset reads as UTC): fractional days since 1970-01-01T00:00Z, or NaN.
 */
export function datetimeValue(b: Uint8Array, s: number, e: number): number {
  if (e - s < 16 || (b[s + 10] !== 0x54 && b[s + 10] !== 0x74 && b[s + 10] !== 0x20)) return NaN;
  const days = dateValue(b, s, s + 10);
  if (Number.isNaN(days) || b[s + 13] !== 0x3a) return NaN;
  const hh = digits(b, s + 11, 2);
  const mm = digits(b, s + 14, 2);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return NaN;
  let p = s + 16;
  let seconds = 0;
  if (p < e && b[p] === 0x3a) {
    const ss = p + 3 <= e ? digits(b, p + 1, 2) : -1;
    if (ss < 0 || ss > 60) return NaN;
    seconds = ss;
    p += 3;
    if (p < e && b[p] === 0x2e) {
      let q = p + 1;
      let scale = 0.1;
      while (q < e && digit(b[q])) {
        seconds += (b[q] - 0x30) * scale;
        scale /= 10;
        q++;
      }
      if (q === p + 1) return NaN;
      p = q;
    }
  }
  let offsetMinutes = 0;
  if (p < e) {
    if ((b[p] === 0x5a || b[p] === 0x7a) && p + 1 === e) p++;
    else if ((b[p] === 0x2b || b[p] === 0x2d) && p + 6 === e && b[p + 3] === 0x3a) {
      const oh = digits(b, p + 1, 2);
      const om = digits(b, p + 4, 2);
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
      offsetMinutes = (b[p] === 0x2d ? -1 : 1) * (oh * 60 + om);
      p = e;
    } else return NaN;
  }
  if (p !== e) return NaN;
  return days + (hh * 3600 + mm * 60 + seconds - offsetMinutes * 60) / 86_400;
}

/** Numeric parts of a day count (fractional days allowed): see DatePart in schema.ts. */
export function dateParts(days: number): { epochDays: number; year: number; month: number; dayOfWeek: number } {
  const whole = Math.floor(days);
  const date = new Date(whole * 86_400_000);
  // 1970-01-01 was a Thursday (ISO weekday 4); ISO weekdays run Monday = 1 .. Sunday = 7.
  const dayOfWeek = ((((whole + 3) % 7) + 7) % 7) + 1;
  return { epochDays: days, year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, dayOfWeek };
}

/** True when `b[s..e)` equals one of `tokens` (UTF-8 bytes). */
export function isMissing(b: Uint8Array, s: number, e: number, tokens: readonly Uint8Array[]): boolean {
  const len = e - s;
  outer: for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.length !== len) continue;
    for (let i = 0; i < len; i++) if (b[s + i] !== t[i]) continue outer;
    return true;
  }
  return false;
}

/**
 * The lengths of `tokens` as a bit set (bit L: a token of L bytes, L < 31; bit 31: one of 31 bytes or more), so that
 * `mayBeMissing` rules most values out with one shift before `isMissing` compares any byte.
 */
export function tokenLengths(tokens: readonly Uint8Array[]): number {
  let mask = 0;
  for (const t of tokens) mask |= t.length < 31 ? 1 << t.length : 1 << 31;
  return mask;
}

/** 1 when a token has `len` bytes (bit min(len, 31) of tokenLengths), else 0. */
const lengthBit = (lengths: number, len: number): number => (lengths >>> Math.min(len, 31)) & 1;

/** False when no token has `len` bytes (see tokenLengths); true means "compare with isMissing". */
export const mayBeMissing = (lengths: number, len: number): boolean => lengthBit(lengths, len) !== 0;

/**
 * mayBeMissing and a first-byte test in one: false when no token has the length of `buf[s..e)` or (a value that is not
 * empty) begins with its first byte, where `firstBytes[at + b]` is 1 when a token begins with byte b. One branch for
 * both: values of random lengths ("red", "green") make a branch on the length alone mispredict.
 */
export const mayBeToken = (
  lengths: number,
  firstBytes: Uint8Array,
  at: number,
  buf: Uint8Array,
  s: number,
  e: number,
): boolean => (lengthBit(lengths, e - s) & (s === e ? 1 : firstBytes[at + buf[s]])) !== 0;

/**
 * The bucket of a categorical value under feature hashing (Weinberger et al., "Feature Hashing for Large Scale
 * Multitask Learning", ICML 2009, §2): 32-bit FNV-1a of the value's UTF-8 bytes (draft-eastlake-fnv §2), mod buckets.
 * Public and keyless, so every owner maps a value to the same slot without any value being published.
 */
export function hashBucket(b: Uint8Array, s: number, e: number, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return h % buckets;
}
