// Spec helpers for the CSV property tests (csv.spec, inspect-equivalence.spec): random tables written out with
// RFC 4180 quoting and pushed in chunks of random sizes.

/**
 * Serialises `table` with RFC 4180 quoting: fields that need quotes (a quote, comma, CR or LF, or a lone empty field)
 * always get them, others when `quote` (cycled) says so; record `i` ends in CRLF when `crlf` (cycled) says so, the
 * last one only when `trailing`. Returns the text and each record's 1-based physical start line.
 */
export function serialiseCsv(
  table: readonly (readonly string[])[],
  opts: { crlf: readonly boolean[]; quote: readonly boolean[]; trailing: boolean },
): { text: string; lines: number[] } {
  let k = 0;
  let text = '';
  let line = 1;
  const lines: number[] = [];
  table.forEach((row, r) => {
    lines.push(line);
    const rec = row
      .map((f) => {
        const needs = /[",\r\n]/.test(f) || (row.length === 1 && f === '');
        return needs || opts.quote[k++ % opts.quote.length] ? `"${f.replace(/"/g, '""')}"` : f;
      })
      .join(',');
    text += rec;
    line += (rec.match(/\n/g) ?? []).length;
    if (r < table.length - 1 || opts.trailing) {
      text += opts.crlf[r % opts.crlf.length] ? '\r\n' : '\n';
      line++;
    }
  });
  return { text, lines };
}

/** Splits bytes into chunks of the given sizes (cycled), so records and fields straddle pushes. */
export function chunked(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}
