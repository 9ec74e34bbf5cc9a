// The many-silo harness of `npm run bench -- scale` (issue 16 §3), small: 10 real silos in two worker processes, one
// coordinator process (`sealfold coordinator start`), one SecAgg+ round in which every 10th silo vanishes after its
// key shares went out. The coordinator must unmask around it and commit the sum of the other nine.
import { describe, expect, it, jest } from '@jest/globals';
import { runScale } from '../../bench/lib/scale-harness.js';
import { TEST_TIMEOUT_MS, ensureBuilt } from './cli-harness.js';

jest.setTimeout(TEST_TIMEOUT_MS);

describe('bench scale harness (10 silos, 10 % dropouts)', () => {
  it('runs a SecAgg+ round over worker-hosted silos, unmasking around the silo that dropped out', async () => {
    ensureBuilt(); // the coordinator and the workers run the compiled tree (dist/)
    const r = await runScale({ silos: 10, workers: 2, dropoutRate: 0.1 });
    expect(r.plannedDropouts).toBe(1);
    expect(r.dropouts).toBe(1);
    expect(r.contributors).toBe(9);
    expect(r.roundMs).toBeGreaterThan(0);
    // Measured from the coordinator's own process and its wire counters.
    expect(r.coordinatorCpuMs).toBeGreaterThan(0);
    expect(r.rssPeakBytes).toBeGreaterThanOrEqual(r.rssIdleBytes);
    expect(r.bytesInPerSilo).toBeGreaterThan(0);
    expect(r.bytesOutPerSilo).toBeGreaterThan(0);
  });
});
