import { stepNameProblem, suggestStepName } from '../stepname';

describe('stepNameProblem', () => {
  it.each(['load', 'clean_data', '_private', 'step-2', 'a1'])('accepts %s', name => {
    expect(stepNameProblem(name)).toBeNull();
  });

  it.each(['', 'Load', '2fast', 'has space', 'dots.bad', 'ümlaut'])('rejects %p', name => {
    expect(stepNameProblem(name)).not.toBeNull();
  });
});

describe('suggestStepName', () => {
  it.each([
    ['## 2. Clean the Data!', 'clean_the_data'],
    ['# Load', 'load'],
    ['### Café résumé', 'cafe_resume'],
    ['#  ', 'step'],
    ['# 2024 results', 'step_2024_results']
  ])('turns %p into %p', (heading, expected) => {
    expect(suggestStepName(heading)).toBe(expected);
  });

  it('always suggests a valid name', () => {
    for (const heading of ['# ???', '## Ünïcödé', '# a-b c', '#### 1) Train model']) {
      expect(stepNameProblem(suggestStepName(heading))).toBeNull();
    }
  });
});
