import { describe, expect, it } from '@jest/globals';
import { refusalSummary, unconnectedSummary } from './admission.js';
import type { ParticipantRecord } from './rounds.repository.js';

const participant = (clientId: number, accepted: boolean, reason: string | null): ParticipantRecord => ({
  datasetId: String(clientId + 10),
  clientId,
  silo: `0x${String(clientId).padStart(40, '0')}`,
  accepted,
  reason,
});

describe('why a round has too few members', () => {
  it('counts the refusal reasons by their code (the part before ":"), in first-seen order', () => {
    expect(
      refusalSummary([
        participant(1, false, 'secagg-required: the owner does not allow plain aggregation'),
        participant(2, true, null),
        participant(3, false, 'too-few-owners: 2 distinct owners, policy 3'),
        participant(4, false, 'secagg-required'),
        participant(5, false, 'no reply'),
      ]),
    ).toBe(' (refused: secagg-required ×2, too-few-owners ×1, no reply ×1)');
  });

  it('says nothing when every silo accepted (or none was asked)', () => {
    expect(refusalSummary([participant(1, true, null), participant(2, true, null)])).toBe('');
    expect(refusalSummary([])).toBe('');
  });

  it('names the datasets no connected silo serves and how to serve them', () => {
    expect(unconnectedSummary([])).toBe('');
    expect(unconnectedSummary(['4'])).toBe(
      " (no silo connected for dataset 4: `sealfold silo start` on the owner's machine serves them)",
    );
    expect(unconnectedSummary(['4', '5'])).toMatch(/^ \(no silo connected for datasets 4, 5: /);
  });
});
