// The synthetic CSV of the ingest benches (bench/ingest.ts, bench/csv-scan.ts): rows of 4 floats, 1 integer, 1
// categorical and a 3-class label (~60 bytes a row) from a fixed xorshift32 seed, so every run parses the same bytes.

/** The header row, ended by `eol` as the rows are. */
export const syntheticCsvHeader = (eol: '\n' | '\r\n' = '\n'): Buffer =>
  Buffer.from(`sepal_length,sepal_width,petal_length,petal_width,count,colour,species${eol}`, 'latin1');

/** About `bytes` of rows (whole rows: it ends with a line break), deterministic; `eol` ends each row. */
export function syntheticCsvPool(bytes: number, eol: '\n' | '\r\n' = '\n'): Buffer {
  const colours = ['red', 'green', 'blue', 'amber', 'violet'];
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  // Rows are written straight into the pool (no array of row strings and no joined copy: those would stay in the
  // heap and count against the process's RSS before an ingest starts).
  const pool = Buffer.allocUnsafe(bytes + 256);
  let size = 0;
  while (size < bytes) {
    const row =
      `${(next() % 1_000_000) / 10_000},${(next() % 100_000) / 1000},-${(next() % 99_999) / 1000},` +
      `${(next() % 1_000_000) / 100_000},${next() % 100},${colours[next() % 5]},${next() % 3}${eol}`;
    size += pool.write(row, size, 'latin1');
  }
  return pool.subarray(0, size);
}
