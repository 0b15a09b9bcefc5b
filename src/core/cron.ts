/**
 * Cron schedules for the export dialog: presets, validation, and a human-readable preview of a
 * five-field expression ("minute hour day-of-month month day-of-week"). Pure, unit-tested.
 * The server (croniter) stays the authority: the preview only helps the user read what they typed.
 */
import { itemAt } from './util';

export interface ISchedulePreset {
  id: string;
  label: string;
  /** The schedule sent to the server (`null`: no schedule). */
  schedule: string | null;
}

export const SCHEDULE_PRESETS: readonly ISchedulePreset[] = [
  { id: 'hourly', label: 'Hourly', schedule: '@hourly' },
  { id: 'daily', label: 'Daily at midnight', schedule: '@daily' },
  { id: 'daily-2am', label: 'Daily at 02:00', schedule: '0 2 * * *' },
  { id: 'weekdays', label: 'Weekdays at 06:00', schedule: '0 6 * * 1-5' },
  { id: 'weekly', label: 'Weekly (Sunday midnight)', schedule: '@weekly' },
  { id: 'monthly', label: 'Monthly (1st, midnight)', schedule: '@monthly' },
  { id: 'custom', label: 'Custom cron expression…', schedule: null },
  { id: 'none', label: 'No schedule (run by hand)', schedule: null }
];

export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *'
};

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December'
];
const DAY_NAMES: Record<string, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6
};
const MONTH_NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12
};

interface IFieldSpec {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const FIELDS: readonly IFieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 7, names: DAY_NAMES }
];

/** One parsed field: `null` for `*`, else the sorted values it allows, plus its step if any. */
interface IField {
  any: boolean;
  values: number[];
  step: number | null;
  text: string;
}

export type CronPreview =
  { ok: true; text: string; expression: string } | { ok: false; error: string };

function parseValue(text: string, spec: IFieldSpec): number {
  const named = spec.names?.[text.toLowerCase()];
  if (named !== undefined) {
    return named;
  }
  if (!/^\d+$/.test(text)) {
    throw new Error(`"${text}" is not a number in the ${spec.name} field`);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new Error(`${value} is outside ${spec.min}–${spec.max} in the ${spec.name} field`);
  }
  return value;
}

function parseField(text: string, spec: IFieldSpec): IField {
  if (text === '*' || text === '?') {
    return { any: true, values: [], step: null, text };
  }
  const values = new Set<number>();
  let step: number | null = null;
  for (const part of text.split(',')) {
    const pieces = part.split('/');
    const range = pieces[0];
    const stepText = itemAt(pieces, 1);
    if (pieces.length > 2 || range === '') {
      throw new Error(`"${part}" is not valid in the ${spec.name} field`);
    }
    let every = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw new Error(`"/${stepText}" is not a valid step in the ${spec.name} field`);
      }
      every = Number(stepText);
      step = every;
    }
    let low: number;
    let high: number;
    if (range === '*') {
      low = spec.min;
      high = spec.max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      low = parseValue(a, spec);
      high = parseValue(b, spec);
      if (low > high) {
        throw new Error(`the range "${range}" runs backwards in the ${spec.name} field`);
      }
    } else {
      low = parseValue(range, spec);
      high = stepText === undefined ? low : spec.max;
    }
    for (let v = low; v <= high; v += every) {
      values.add(v);
    }
  }
  return { any: false, values: [...values].sort((a, b) => a - b), step, text };
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function list(items: string[]): string {
  if (items.length <= 1) {
    return items.join('');
  }
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "Monday to Friday" for consecutive runs of 3 or more values, else a list. */
function describeSet(values: number[], name: (v: number) => string): string {
  const consecutive = values.every((v, i) => i === 0 || v === values[i - 1] + 1);
  if (values.length >= 3 && consecutive) {
    return `${name(values[0])} to ${name(values[values.length - 1])}`;
  }
  return list(values.map(name));
}

function describeTime(minute: IField, hour: IField): string {
  if (minute.any && hour.any) {
    return 'Every minute';
  }
  if (!minute.any && minute.step !== null && minute.text.startsWith('*') && hour.any) {
    return `Every ${minute.step} minutes`;
  }
  if (hour.any) {
    return `At minute ${list(minute.values.map(String))} past every hour`;
  }
  if (minute.any) {
    return `Every minute of hour ${list(hour.values.map(String))}`;
  }
  if (hour.step !== null && hour.text.startsWith('*')) {
    return `At minute ${list(minute.values.map(String))} past every ${hour.step} hours`;
  }
  const times: string[] = [];
  for (const h of hour.values) {
    for (const m of minute.values) {
      times.push(`${pad(h)}:${pad(m)}`);
    }
  }
  if (times.length > 6) {
    return `At minute ${list(minute.values.map(String))} past hour ${list(hour.values.map(String))}`;
  }
  return `At ${list(times)}`;
}

/** A human-readable description of a cron expression or preset, or why it is invalid. */
export function describeCron(input: string): CronPreview {
  const text = input.trim().split(/\s+/).join(' ');
  if (text.length === 0) {
    return { ok: false, error: 'Enter a cron expression such as "0 2 * * *".' };
  }
  const macro = Object.prototype.hasOwnProperty.call(CRON_MACROS, text.toLowerCase())
    ? CRON_MACROS[text.toLowerCase()]
    : null;
  const expression = macro ?? text;
  if (text.startsWith('@') && macro === null) {
    return {
      ok: false,
      error: `Unknown preset "${text}": use ${Object.keys(CRON_MACROS).join(', ')}.`
    };
  }
  const parts = expression.split(' ');
  if (parts.length !== 5) {
    return {
      ok: false,
      error: `A cron expression has 5 fields (minute hour day month weekday), not ${parts.length}.`
    };
  }
  let fields: IField[];
  try {
    fields = parts.map((part, i) => parseField(part, FIELDS[i]));
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const [minute, hour, dom, month, dow] = fields;
  const pieces = [describeTime(minute, hour)];
  const weekdays = [...new Set(dow.values.map(v => v % 7))].sort((a, b) => a - b);
  if (!dom.any && !dow.any) {
    pieces.push(
      `on day ${list(dom.values.map(String))} of the month and on ${describeSet(weekdays, d => DAYS[d])}`
    );
  } else if (!dom.any) {
    pieces.push(`on day ${list(dom.values.map(String))} of the month`);
  } else if (!dow.any) {
    pieces.push(`on ${describeSet(weekdays, d => DAYS[d])}`);
  } else if (!minute.any && !hour.any && hour.step === null && minute.step === null) {
    pieces.push('every day');
  }
  if (!month.any) {
    pieces.push(`in ${describeSet(month.values, m => MONTHS[m - 1])}`);
  }
  return { ok: true, text: pieces.join(' '), expression };
}
