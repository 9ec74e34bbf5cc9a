import { describe, expect, it } from '@jest/globals';
import { PollingLoop } from './polling-loop.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loop whose pass takes `passMs`, counting passes and the most ever in flight at once. */
function countingLoop(passMs: number) {
  const counts = { passes: 0, inFlight: 0, most: 0 };
  const loop = new PollingLoop(async () => {
    counts.inFlight++;
    counts.most = Math.max(counts.most, counts.inFlight);
    await sleep(passMs);
    counts.passes++;
    counts.inFlight--;
  }, 1);
  return { loop, counts };
}

describe('PollingLoop', () => {
  it('repeats passes one after another, never two at once', async () => {
    const { loop, counts } = countingLoop(5);
    loop.start();
    await sleep(80);
    await loop.stop();
    expect(counts.passes).toBeGreaterThanOrEqual(3);
    expect(counts.most).toBe(1);
  });

  it('stop waits for the pass in flight and starts none after it', async () => {
    let ended = false;
    let started = 0;
    const loop = new PollingLoop(async () => {
      started++;
      await sleep(30);
      ended = true;
    }, 1);
    loop.start();
    expect(loop.isStopped).toBe(false);
    await loop.stop();
    expect(ended).toBe(true);
    expect(loop.isStopped).toBe(true);
    await sleep(20);
    expect(started).toBe(1);
  });

  it('starts again after stop, never beside a pass still running', async () => {
    const { loop, counts } = countingLoop(20);
    loop.start();
    expect(() => loop.start()).toThrow('already running');
    const stopping = loop.stop();
    // The stopped loop's pass is still in flight: a start now would run two at once.
    expect(() => loop.start()).toThrow('await stop() first');
    await stopping;
    const before = counts.passes;
    loop.start();
    expect(loop.isStopped).toBe(false);
    await sleep(100);
    await loop.stop();
    expect(counts.passes).toBeGreaterThan(before + 1);
    expect(counts.most).toBe(1);
  });
});
