/**
 * Parameter values as the export dialog edits them (pure): shown as Python literals, read back with
 * the type of the parameter's default, and the interval parameters a scheduler fills.
 */

export type ParameterValue = string | number | boolean | null;

/** Parameter pairs a scheduler fills with its data interval (as `jupyter repro export` detects). */
const INTERVAL_PAIRS: readonly [string, string][] = [
  ['data_interval_start', 'data_interval_end'],
  ['start_date', 'end_date'],
  ['interval_start', 'interval_end'],
  ['start_time', 'end_time'],
  ['start', 'end']
];

/** The parameters the scheduler fills (the first interval pair the notebook has). */
export function intervalParameters(names: readonly string[]): string[] {
  const pair = INTERVAL_PAIRS.find(([a, b]) => names.includes(a) && names.includes(b));
  return pair === undefined ? [] : [...pair];
}

/** A parameter's value as text in a form field (Python spelling for booleans and None). */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The value typed in a parameter field, with the type of the parameter's default. */
export function typedValue(text: string, defaultValue: unknown): ParameterValue {
  const trimmed = text.trim();
  if (typeof defaultValue === 'number' && trimmed !== '' && Number.isFinite(Number(trimmed))) {
    return Number(trimmed);
  }
  if (typeof defaultValue === 'boolean' || defaultValue === null || defaultValue === undefined) {
    if (trimmed === 'True' || trimmed === 'true') {
      return true;
    }
    if (trimmed === 'False' || trimmed === 'false') {
      return false;
    }
    if (trimmed === 'None' || trimmed === 'null') {
      return null;
    }
  }
  return text;
}

/** The parameters whose field differs from the default, typed. */
export function changedParameters(
  defaults: Readonly<Record<string, unknown>>,
  fields: Readonly<Record<string, string>>
): Record<string, ParameterValue> {
  const changed: Record<string, ParameterValue> = {};
  for (const [name, text] of Object.entries(fields)) {
    const original = defaults[name];
    if (text !== showValue(original)) {
      changed[name] = typedValue(text, original);
    }
  }
  return changed;
}
