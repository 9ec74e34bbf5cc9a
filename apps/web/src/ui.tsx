// Small shared pieces: async loading, error and status messages, a line chart with a table fallback.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { WalletError } from './wallet.js';

/** A user-facing sentence for any error (API code and message, wallet problem, or the error's message). */
export function describeError(err: unknown): string {
  if (err instanceof WalletError) return err.message;
  if (err instanceof ApiError) {
    if (err.status === 401) return `Sign in with your wallet first (${err.code}).`;
    return `${err.message} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  return (
    <p class="error" role="alert">
      {describeError(error)}
    </p>
  );
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `deps` change; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

/** Calls `reload` every `ms` while `active` (a list of live things; the page stops polling when it unmounts). */
export function usePolling(reload: () => void, ms: number, active: boolean): void {
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(reload, ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Card({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** An SVG line chart of one series per metric; the same numbers are in a table for screen readers. */
export function LineChart({ title, series, xLabel }: { title: string; series: Series[]; xLabel: string }) {
  const all = series.flatMap((s) => s.points);
  const W = 420;
  const H = 180;
  const P = 32;
  if (all.length === 0) return <p class="muted">No finished round yet.</p>;
  const xMax = Math.max(1, ...all.map((p) => p.x));
  const yMax = Math.max(1e-9, ...all.map((p) => p.y));
  const sx = (x: number) => P + ((W - 2 * P) * (x - 1)) / Math.max(1, xMax - 1);
  const sy = (y: number) => H - P - ((H - 2 * P) * y) / yMax;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: see the table below`}>
        <line x1={P} y1={H - P} x2={W - P} y2={H - P} class="axis" />
        <line x1={P} y1={P} x2={P} y2={H - P} class="axis" />
        <text x={P - 4} y={P + 4} class="tick" text-anchor="end">
          {+yMax.toPrecision(3)}
        </text>
        <text x={P - 4} y={H - P} class="tick" text-anchor="end">
          0
        </text>
        <text x={sx(1)} y={H - P + 14} class="tick" text-anchor="middle">
          1
        </text>
        {xMax > 1 ? (
          <text x={sx(xMax)} y={H - P + 14} class="tick" text-anchor="middle">
            {xMax}
          </text>
        ) : null}
        <text x={W / 2} y={H - 6} class="tick" text-anchor="middle">
          {xLabel}
        </text>
        {series.map((s, i) => (
          <g key={s.name} class={`series s${i}`}>
            <polyline points={s.points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')} />
            {s.points.map((p) => (
              <circle key={p.x} cx={sx(p.x)} cy={sy(p.y)} r={3} />
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        {title}:{' '}
        {series.map((s, i) => (
          <span key={s.name} class={`legend s${i}`}>
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
