import { describe, expect, it } from '@jest/globals';
import { combinePlainResults } from './evaluation.js';

describe('combinePlainResults (jobs without SecAgg+)', () => {
  it('weighs each silo by its held-out examples', () => {
    const combined = combinePlainResults([
      { examples: 30, accuracy: 0.9, loss: 0.2 },
      { examples: 10, accuracy: 0.5, loss: 1.0 },
    ]);
    // accuracy = (27 + 5) / 40, loss = (6 + 10) / 40; an unweighted mean would give 0.7 and 0.6.
    expect(combined?.accuracy).toBeCloseTo(0.8, 12);
    expect(combined?.loss).toBeCloseTo(0.4, 12);
  });

  it('is undefined when no silo reported', () => {
    expect(combinePlainResults([])).toBeUndefined();
  });
});
