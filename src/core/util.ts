/**
 * Tiny helpers shared by the modules (pure).
 */

/** `array[index]`, or `undefined` when the index is out of range (`Array.prototype.at` is ES2022). */
export function itemAt<T>(array: readonly T[], index: number): T | undefined {
  return index >= 0 && index < array.length ? array[index] : undefined;
}
