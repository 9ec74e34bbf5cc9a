// Signed feature ranges on the New job page (issue 13), as `job create --feature-range name=min:max` signs them: with
// DP, a silo releases Σx and Σx² of a numeric feature only clipped into a range the buyer signed in the job schema
// (libs/fl statistics-dp.ts), so a feature without one is not standardised. The ranges go into the schema with
// libs/protocol withFeatureRanges, and the request signs that schema's hash, exactly as the CLI does.
import type { JobSchema } from '../../../../libs/protocol/src/job-schema.js';

/** What the buyer typed per feature: both bounds, or neither (no range). */
export type RangeInputs = Record<string, { min: string; max: string }>;

/** The numeric features of a job schema: the ones a range can be signed for. */
export const numericFeatures = (schema: JobSchema | null | undefined): string[] =>
  (schema?.features ?? []).filter((f) => f.type === 'numeric').map((f) => f.name);

/**
 * The ranges to sign, by feature name: features left empty have none; a half-filled row, a bound that is not a
 * finite number or min ≥ max is refused, naming the feature (the CLI's `--feature-range` rules).
 */
export function rangesToSign(inputs: RangeInputs, features: readonly string[]): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const name of features) {
    const { min = '', max = '' } = inputs[name] ?? {};
    if (min.trim() === '' && max.trim() === '') continue;
    const lo = Number(min);
    const hi = Number(max);
    if (min.trim() === '' || max.trim() === '' || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi))
      throw new Error(
        `Feature range of ${name}: give both bounds, min below max, or leave both empty (min "${min}", max "${max}").`,
      );
    out[name] = [lo, hi];
  }
  return out;
}

export function FeatureRangeInputs({
  features,
  inputs,
  onChange,
}: {
  features: readonly string[];
  inputs: RangeInputs;
  /** Called with an update of the previous inputs (a state setter), so that quick edits never undo each other. */
  onChange: (update: (previous: RangeInputs) => RangeInputs) => void;
}) {
  if (features.length === 0) return null;
  const set = (name: string, bound: 'min' | 'max') => (e: Event) => {
    const value = (e.target as HTMLInputElement).value;
    onChange((previous) => ({ ...previous, [name]: { ...(previous[name] ?? { min: '', max: '' }), [bound]: value } }));
  };
  return (
    <fieldset class="ranges">
      <legend>Feature ranges (signed)</legend>
      <p class="muted small">
        With DP, each silo clips a numeric feature into its signed range before adding noise to its sums; a feature
        without a range is not standardised (mean 0, std 1). Leave both empty for none.
      </p>
      {features.map((name) => (
        <p key={name} class="range">
          <label>
            {name} min
            <input type="number" step="any" value={inputs[name]?.min ?? ''} onInput={set(name, 'min')} />
          </label>
          <label>
            {name} max
            <input type="number" step="any" value={inputs[name]?.max ?? ''} onInput={set(name, 'max')} />
          </label>
        </p>
      ))}
    </fieldset>
  );
}
