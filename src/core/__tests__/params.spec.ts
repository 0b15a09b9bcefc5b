import { changedParameters, intervalParameters, showValue, typedValue } from '../params';

describe('interval parameters', () => {
  it('finds the first pair the notebook has', () => {
    expect(intervalParameters(['start_date', 'end_date', 'output_dir'])).toEqual([
      'start_date',
      'end_date'
    ]);
    expect(
      intervalParameters(['start', 'end', 'data_interval_start', 'data_interval_end'])
    ).toEqual(['data_interval_start', 'data_interval_end']);
    expect(intervalParameters(['start_date'])).toEqual([]);
  });
});

describe('parameter values', () => {
  it('shows Python literals', () => {
    expect(showValue(true)).toBe('True');
    expect(showValue(null)).toBe('None');
    expect(showValue(0.5)).toBe('0.5');
    expect(showValue('out')).toBe('out');
  });

  it('reads values back with the type of the default', () => {
    expect(typedValue('12', 10)).toBe(12);
    expect(typedValue('12', 'x')).toBe('12');
    expect(typedValue('twelve', 10)).toBe('twelve');
    expect(typedValue('False', true)).toBe(false);
    expect(typedValue('None', 'x')).toBe('None');
    expect(typedValue('None', null)).toBeNull();
  });

  it('sends only what the user changed', () => {
    expect(
      changedParameters(
        { n: 10, out: 'output', flag: false },
        { n: '10', out: 'results', flag: 'True' }
      )
    ).toEqual({ out: 'results', flag: true });
  });
});
