/**
 * The step name rule of the tag grammar (docs/tags.md; `STEP_NAME` in the Python core's tags.py): a
 * step name matches `[a-z_][a-z0-9_-]*` and is written as the cell tag `step:NAME`. Pure. Which step
 * a cell belongs to is the grammar's answer (tags.ts `layoutCells`), not a tag lookup.
 */

export const STEP_NAME_PATTERN = /^[a-z_][a-z0-9_-]*$/;
export const STEP_TAG_PREFIX = 'step:';

/** Why `name` is not a valid step name, or `null` when it is. */
export function stepNameProblem(name: string): string | null {
  if (name.length === 0) {
    return 'A step name cannot be empty.';
  }
  if (!STEP_NAME_PATTERN.test(name)) {
    return (
      `"${name}" is not a valid step name: use lowercase letters, digits, "_" and "-", ` +
      'starting with a letter or "_".'
    );
  }
  return null;
}

/**
 * A valid step name suggested from free text such as a markdown heading:
 * "## 2. Clean the Data!" becomes "clean_the_data".
 */
export function suggestStepName(text: string): string {
  const words = text
    .toLowerCase()
    .replace(/^[#\s]+/, '')
    .replace(/^\d+[.)]\s*/, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9_\s-]/g, ' ')
    .trim()
    .split(/[\s-]+/)
    .filter(word => word.length > 0);
  let name = words.join('_').slice(0, 40).replace(/_+$/, '');
  if (name.length === 0) {
    return 'step';
  }
  if (!/^[a-z_]/.test(name)) {
    name = `step_${name}`;
  }
  return name;
}
