// A one-line progress bar on stderr (bytes, MB/s, ETA), redrawn at most every 100 ms. Shown only when stderr is a
// terminal and --json is off, so pipes and scripts never see control characters.

const MB = 1024 * 1024;
const WIDTH = 24;

export interface Progress {
  advance(bytes: number): void;
  finish(): void;
}

const silent: Progress = { advance: () => {}, finish: () => {} };

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export function createProgress(label: string, total: number | undefined, enabled: boolean): Progress {
  if (!enabled) return silent;
  const started = performance.now();
  let done = 0;
  let lastDraw = 0;
  const draw = (final: boolean) => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = elapsed > 0 ? done / MB / elapsed : 0;
    let line: string;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, done / total);
      const filled = Math.round(fraction * WIDTH);
      const eta = rate > 0 ? (total - done) / MB / rate : Infinity;
      line =
        `${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
        `${(done / MB).toFixed(1)}/${(total / MB).toFixed(1)} MB ${rate.toFixed(1)} MB/s ` +
        (final ? `in ${formatSeconds(elapsed)}` : `ETA ${formatSeconds(eta)}`);
    } else {
      line = `${label} ${(done / MB).toFixed(1)} MB ${rate.toFixed(1)} MB/s`;
    }
    process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
  };
  return {
    advance(bytes) {
      done += bytes;
      const now = performance.now();
      if (now - lastDraw >= 100) {
        lastDraw = now;
        draw(false);
      }
    },
    finish() {
      draw(true);
    },
  };
}
