import {
  badgeStatus,
  formatDuration,
  formatTime,
  outcomeOf,
  runDuration,
  stepColour,
  STEP_COLOURS,
  textColourOn
} from '../format';

const stepResult = (status: string) => ({
  name: 's',
  status,
  cache_key: '',
  duration_s: 0,
  reads: [],
  writes: []
});
const cellResult = (status: string) => ({ index: 0, step: 's', status, diff: null });

describe('badgeStatus', () => {
  it('prefers the verify comparison, then the step status', () => {
    expect(badgeStatus(cellResult('match'), stepResult('cached'))).toEqual({
      label: 'matches',
      kind: 'match'
    });
    expect(badgeStatus(cellResult('differ'), stepResult('executed'))?.label).toBe('differs');
    expect(badgeStatus(undefined, stepResult('cached'))?.label).toBe('cached');
    expect(badgeStatus(undefined, undefined)).toBeNull();
  });

  it('shows failures whatever the comparison says', () => {
    expect(badgeStatus(cellResult('unverified'), stepResult('failed'))?.label).toBe('failed');
    expect(badgeStatus(cellResult('error'), undefined)?.label).toBe('failed');
  });
});

describe('durations and times', () => {
  it.each([
    [0.0681, '68 ms'],
    [7.93, '7.9 s'],
    [125, '2 min 5 s'],
    [null, '—']
  ])('formats %p seconds as %p', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });

  it('computes a run duration from its times', () => {
    expect(
      runDuration({
        started_at: '2026-11-22T07:49:52+00:00',
        finished_at: '2026-11-22T07:49:56.5+00:00'
      })
    ).toBeCloseTo(4.5);
    expect(runDuration({ started_at: 'x', finished_at: null })).toBeNull();
    expect(runDuration({ started_at: 'x', duration_s: 3 })).toBe(3);
  });

  it('shows only the time for today', () => {
    const now = new Date('2026-11-22T12:00:00');
    expect(formatTime('2026-11-22T07:49:52', now)).not.toMatch(/Nov/);
    expect(formatTime('2026-11-20T07:49:52', now)).toMatch(/Nov/);
    expect(formatTime('garbage', now)).toBe('garbage');
  });

  it('names outcomes', () => {
    expect(outcomeOf({ kind: 'verify', status: 'ok', verdict: 'reproducible' })).toBe(
      'reproducible'
    );
    expect(outcomeOf({ kind: 'run', status: 'ok', verdict: null })).toBe('ok');
    expect(outcomeOf({ kind: 'run', status: 'failed', verdict: null })).toBe('failed');
  });
});

describe('colours', () => {
  it('gives steps distinct colours in order, and stable ones otherwise', () => {
    const order = ['a', 'b', 'c'];
    expect(new Set(order.map(n => stepColour(n, order))).size).toBe(3);
    expect(stepColour('a', order)).toBe(STEP_COLOURS[0]);
    expect(stepColour('zzz', [])).toBe(stepColour('zzz', ['other']));
  });

  it('picks a readable text colour', () => {
    expect(textColourOn('#4e79a7')).toBe('#ffffff');
    expect(textColourOn('#edc948')).toBe('#1a1a1a');
  });
});
