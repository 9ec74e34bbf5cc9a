// `job watch` rendering: finished rounds are reported once each and in round order, whether they arrive live (the
// `committed` progress report) or from the round history, and the JSON `round` event carries what --help says.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createRenderer } from './job.js';

const progress = (round: number, extra: Record<string, unknown> = {}) => ({
  jobId: 'j',
  status: 'running' as const,
  round,
  rounds: 10,
  stage: 'committed',
  participants: 3,
  dropouts: 0,
  accuracy: 0.5 + round / 100,
  loss: 1,
  at: round,
  ...extra,
});
const history = (round: number) => ({
  round,
  status: 'completed' as const,
  participants: 3,
  dropouts: 0,
  loss: 1,
  accuracy: 0.5 + round / 100,
  reason: null,
  startedAt: round * 1000,
  finishedAt: round * 1000 + 500,
});

describe('job watch renderer', () => {
  let out: string[];
  beforeEach(() => {
    out = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  const rounds = () => out.flatMap((l) => /^round (\d+)\//.exec(l)?.[1] ?? []).map(Number);

  it('holds a live round back until the history fills the gap (the 1–6, 9, 7, 8 order seen on main)', () => {
    const r = createRenderer({ json: false });
    for (let i = 1; i <= 6; i++) r.progress(progress(i));
    // Reports for rounds 7 and 8 were missed (e.g. no evaluation, or a reconnect): 9 arrives first.
    r.progress(progress(9));
    expect(rounds()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.gap()).toBe(true);
    r.history([9, 8, 7, 6, 5].map(history), 10);
    expect(rounds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.gap()).toBe(false);
    r.progress(progress(10));
    r.history([10].map(history), 10);
    r.end();
    expect(rounds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a round committed without an evaluation is still a finished round; end() reports what is left, in order', () => {
    const r = createRenderer({ json: false });
    r.progress(progress(1, { accuracy: undefined, loss: undefined }));
    r.progress(progress(2, { stage: 'masked-input' }));
    r.progress(progress(4));
    r.progress(progress(3, { stage: 'evaluate' }));
    r.end();
    expect(rounds()).toEqual([1, 4]);
    expect(out[0]).toContain('accuracy -');
  });

  it('JSON: progress events as they come, one round event per finished round in order, with status and reason', () => {
    const r = createRenderer({ json: true });
    r.progress(progress(2));
    r.history([{ ...history(1), status: 'aborted', accuracy: null, loss: null, reason: 'DROPPED: too few' }], 10);
    r.end();
    const events = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => [e.event, e.round])).toEqual([
      ['progress', 2],
      ['round', 1],
      ['round', 2],
    ]);
    expect(events[1]).toEqual({
      event: 'round',
      round: 1,
      rounds: 10,
      status: 'aborted',
      accuracy: null,
      loss: null,
      participants: 3,
      dropouts: 0,
      reason: 'DROPPED: too few',
    });
  });
});
