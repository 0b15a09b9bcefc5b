/**
 * Python's `difflib.get_close_matches` for short strings, so that the offline tag grammar reports
 * the same misspelt tags as the Python core (tags.py `_reject_near_miss`). Pure.
 *
 * The ratio is difflib's `SequenceMatcher(None, candidate, word).ratio()`: 2 * M / T, where M counts
 * the characters of the matching blocks found by recursively taking the longest common substring.
 * difflib's "autojunk" heuristic only applies to words of 200 characters or more, which are never
 * close to a tag of ours, so it is left out.
 */

/** The longest common block of `a[alo:ahi]` and `b[blo:bhi]`, the first one as difflib picks it. */
function longestMatch(
  a: readonly string[],
  b2j: ReadonlyMap<string, readonly number[]>,
  alo: number,
  ahi: number,
  blo: number,
  bhi: number
): [number, number, number] {
  let besti = alo;
  let bestj = blo;
  let bestsize = 0;
  let j2len = new Map<number, number>();
  for (let i = alo; i < ahi; i++) {
    const next = new Map<number, number>();
    for (const j of b2j.get(a[i]) ?? []) {
      if (j < blo) {
        continue;
      }
      if (j >= bhi) {
        break;
      }
      const k = (j2len.get(j - 1) ?? 0) + 1;
      next.set(j, k);
      if (k > bestsize) {
        besti = i - k + 1;
        bestj = j - k + 1;
        bestsize = k;
      }
    }
    j2len = next;
  }
  return [besti, bestj, bestsize];
}

/** `difflib.SequenceMatcher(None, a, b).ratio()` (code points, as Python strings are). */
export function similarity(a: string, b: string): number {
  const sa = Array.from(a);
  const sb = Array.from(b);
  const total = sa.length + sb.length;
  if (total === 0) {
    return 1;
  }
  const b2j = new Map<string, number[]>();
  sb.forEach((char, j) => {
    const list = b2j.get(char);
    if (list === undefined) {
      b2j.set(char, [j]);
    } else {
      list.push(j);
    }
  });
  let matches = 0;
  const queue: [number, number, number, number][] = [[0, sa.length, 0, sb.length]];
  while (queue.length > 0) {
    const [alo, ahi, blo, bhi] = queue.pop() as [number, number, number, number];
    const [i, j, k] = longestMatch(sa, b2j, alo, ahi, blo, bhi);
    if (k > 0) {
      matches += k;
      if (alo < i && blo < j) {
        queue.push([alo, i, blo, j]);
      }
      if (i + k < ahi && j + k < bhi) {
        queue.push([i + k, ahi, j + k, bhi]);
      }
    }
  }
  return (2 * matches) / total;
}

/**
 * `difflib.get_close_matches(word, possibilities, n=1, cutoff)[0]`, or `null`: the possibility most
 * similar to `word` with a ratio of at least `cutoff` (ties go to the greater string, as in Python).
 */
export function closestMatch(
  word: string,
  possibilities: readonly string[],
  cutoff: number
): string | null {
  let best: string | null = null;
  let bestRatio = -1;
  for (const candidate of possibilities) {
    const ratio = similarity(candidate, word);
    if (ratio < cutoff) {
      continue;
    }
    if (ratio > bestRatio || (ratio === bestRatio && best !== null && candidate > best)) {
      best = candidate;
      bestRatio = ratio;
    }
  }
  return best;
}
