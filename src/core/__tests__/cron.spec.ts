import { CRON_MACROS, describeCron, SCHEDULE_PRESETS } from '../cron';

describe('describeCron', () => {
  it.each([
    ['0 2 * * *', 'At 02:00 every day'],
    ['@daily', 'At 00:00 every day'],
    ['@hourly', 'At minute 0 past every hour'],
    ['*/15 * * * *', 'Every 15 minutes'],
    ['* * * * *', 'Every minute'],
    ['30 6 * * 1-5', 'At 06:30 on Monday to Friday'],
    ['0 6 * * mon,wed', 'At 06:00 on Monday and Wednesday'],
    ['0 0 1 * *', 'At 00:00 on day 1 of the month'],
    ['0 0 1 1 *', 'At 00:00 on day 1 of the month in January'],
    ['0 9,17 * * *', 'At 09:00 and 17:00 every day'],
    ['0 */6 * * *', 'At minute 0 past every 6 hours'],
    ['0 0 * * 7', 'At 00:00 on Sunday'],
    ['  0   2 * *   * ', 'At 02:00 every day']
  ])('describes %p as %p', (expression, text) => {
    const preview = describeCron(expression);
    expect(preview).toEqual(expect.objectContaining({ ok: true, text }));
  });

  it.each([
    ['', /Enter a cron/],
    ['0 2 * *', /5 fields/],
    ['61 * * * *', /outside 0–59 in the minute field/],
    ['0 25 * * *', /hour/],
    ['x * * * *', /not a number/],
    ['@sometimes', /Unknown preset/],
    ['*/0 * * * *', /not a valid step/],
    ['5-1 * * * *', /backwards/]
  ])('rejects %p', (expression, error) => {
    const preview = describeCron(expression);
    expect(preview.ok).toBe(false);
    if (!preview.ok) {
      expect(preview.error).toMatch(error);
    }
  });

  it('expands presets to five fields', () => {
    expect(describeCron('@weekly')).toEqual(
      expect.objectContaining({ ok: true, expression: '0 0 * * 0' })
    );
  });

  it('previews every preset that has a schedule', () => {
    for (const preset of SCHEDULE_PRESETS) {
      if (preset.schedule !== null) {
        expect(describeCron(preset.schedule).ok).toBe(true);
      }
    }
    for (const macro of Object.keys(CRON_MACROS)) {
      expect(describeCron(macro).ok).toBe(true);
    }
  });
});
