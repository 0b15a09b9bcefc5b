/**
 * The code that seeds the interactive kernel (pure; run by seeding.ts). It defines no names in the
 * user's namespace, and loading an extension that is already loaded is a no-op, so reconnecting to a
 * running kernel never reseeds it.
 */

/** The notebook's seed from `metadata.jupyter_repro`, if it is a non-negative integer. */
export function notebookSeed(metadata: unknown): number | null {
  if (typeof metadata !== 'object' || metadata === null) {
    return null;
  }
  const seed = (metadata as { seed?: unknown }).seed;
  return typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 ? seed : null;
}

/** `%load_ext jupyter_repro`, with `JUPYTER_REPRO_SEED` set first when the notebook has a seed. */
export function seedingCode(seed: number | null): string {
  const lines: string[] = [];
  if (seed !== null && Number.isInteger(seed) && seed >= 0) {
    lines.push(`__import__('os').environ['JUPYTER_REPRO_SEED'] = '${String(seed)}'`);
  }
  lines.push("get_ipython().extension_manager.load_extension('jupyter_repro')");
  return lines.join('\n');
}
