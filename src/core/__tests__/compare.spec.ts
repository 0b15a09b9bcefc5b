import {
  compareEnvironments,
  describeDifference,
  normalizeDistribution,
  splitUnifiedDiff
} from '../compare';

describe('splitUnifiedDiff', () => {
  it('pairs removed and added lines side by side', () => {
    const diff = [
      '--- saved outputs',
      '+++ new outputs',
      '@@ -1,3 +1,3 @@',
      ' [stdout]',
      '-total 94,494.70',
      '+total 188,989.40',
      ' end'
    ].join('\n');
    expect(splitUnifiedDiff(diff)).toEqual([
      { kind: 'hunk', left: '@@ -1,3 +1,3 @@', right: '@@ -1,3 +1,3 @@' },
      { kind: 'same', left: '[stdout]', right: '[stdout]' },
      { kind: 'changed', left: 'total 94,494.70', right: 'total 188,989.40' },
      { kind: 'same', left: 'end', right: 'end' }
    ]);
  });

  it('keeps unbalanced runs as removed or added rows', () => {
    const rows = splitUnifiedDiff('-a\n-b\n+c\n+d\n+e\n x\n+f');
    expect(rows.map(r => [r.kind, r.left, r.right])).toEqual([
      ['changed', 'a', 'c'],
      ['changed', 'b', 'd'],
      ['added', null, 'e'],
      ['same', 'x', 'x'],
      ['added', null, 'f']
    ]);
  });

  it('does not pair an added line with a later removal', () => {
    const rows = splitUnifiedDiff('+new\n-old');
    expect(rows.map(r => r.kind)).toEqual(['added', 'removed']);
  });
});

describe('compareEnvironments', () => {
  it('reports Python, interpreter and package differences', () => {
    const live = {
      python_version: '3.11.7',
      executable: '/usr/bin/python3',
      packages: { pandas: '2.1.0', NumPy: '1.26.0', only_live: '1.0' }
    };
    const headless = {
      python_version: '3.11.7',
      executable: '/venv/bin/python',
      packages: { pandas: '2.2.0', numpy: '1.26.0', 'only-headless': '2.0' }
    };
    const diffs = compareEnvironments(live, headless);
    expect(diffs).toEqual([
      { what: 'interpreter', live: '/usr/bin/python3', headless: '/venv/bin/python' },
      { what: 'only-headless', live: null, headless: '2.0' },
      { what: 'only_live', live: '1.0', headless: null },
      { what: 'pandas', live: '2.1.0', headless: '2.2.0' }
    ]);
    expect(describeDifference(diffs[3])).toBe(
      'your kernel has pandas 2.1.0, the headless run used 2.2.0'
    );
    expect(describeDifference(diffs[1])).toMatch(/not in your kernel/);
    expect(describeDifference(diffs[2])).toMatch(/not for the headless run/);
  });

  it('finds nothing between equal environments', () => {
    const env = { python_version: '3.11', packages: { a: '1' } };
    expect(compareEnvironments(env, { ...env })).toEqual([]);
  });

  it('normalises distribution names as pip does', () => {
    expect(normalizeDistribution('Ruamel.YAML_clib')).toBe('ruamel-yaml-clib');
  });
});
