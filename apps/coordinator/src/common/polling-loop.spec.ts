import { describe, expect, it } from '@jest/globals';
import { PollingLoop } from './polling-loop.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PollingLoop', () => {
  it('repeats passes one after another, never two at once', async () => {
    let inFlight = 0;
    let most = 0;
    let passes = 0;
    const loop = new PollingLoop(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(5);
      passes++;
      inFlight--;
    }, 1);
    loop.start();
    await sleep(80);
    await loop.stop();
    expect(passes).toBeGreaterThanOrEqual(3);
    expect(most).toBe(1);
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
    let inFlight = 0;
    let most = 0;
    let passes = 0;
    const loop = new PollingLoop(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(20);
      passes++;
      inFlight--;
    }, 1);
    loop.start();
    expect(() => loop.start()).toThrow('already running');
    const stopping = loop.stop();
    // The stopped loop's pass is still in flight: a start now would run two at once.
    expect(() => loop.start()).toThrow('await stop() first');
    await stopping;
    const before = passes;
    loop.start();
    expect(loop.isStopped).toBe(false);
    await sleep(100);
    await loop.stop();
    expect(passes).toBeGreaterThan(before + 1);
    expect(most).toBe(1);
  });
});
