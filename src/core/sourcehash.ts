/**
 * The hash of a cell's source that JupyterLab records when the cell runs
 * (`metadata.jupyter_repro.source_sha256`). Pure: Web Crypto only.
 *
 * The same definition as `jupyter_repro.hashing.source_hash` in Python: the first 16 hex digits of
 * the SHA-256 of the source's UTF-8 bytes, exactly as saved (no normalisation: any edit, a comment
 * included, changes it). `tests/fixtures/source_hashes.json` pins values that pytest and Jest both
 * check. SHA-256 because it is what the browser's Web Crypto offers; Web Crypto exists only in
 * secure contexts (https, localhost) and in Node 20 as `globalThis.crypto`.
 */

/** Hex digits kept of the SHA-256: enough to tell edits apart, short enough for cell metadata. */
export const SOURCE_HASH_LENGTH = 16;

/** Raised when this page has no Web Crypto (served over plain http from another host). */
export class NoWebCryptoError extends Error {
  constructor() {
    super('Web Crypto is not available here (the page is not a secure context)');
    this.name = 'NoWebCryptoError';
  }
}

/** The hash of `source`; rejects with `NoWebCryptoError` where Web Crypto is missing. */
export async function sourceHash(source: string): Promise<string> {
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  if (subtle === undefined) {
    throw new NoWebCryptoError();
  }
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(source));
  return Array.from(new Uint8Array(digest), byte => byte.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, SOURCE_HASH_LENGTH);
}

/**
 * Hashes of sources, remembered: the badges look up every cell's hash on each redraw, synchronously,
 * and hashing is asynchronous. `get` answers from memory, or starts hashing and answers `null` (not
 * known yet); `onHashed` is called when a new hash is known, so the caller redraws then. When hashing
 * is impossible (no Web Crypto), every answer stays `null` and nothing is retried.
 */
export class SourceHashes {
  /**
   * @param onHashed - called after a hash that `get` could not answer is known
   * @param limit - how many hashes to remember (the oldest are forgotten first)
   * @param hash - the hash function (tests pass a fake)
   */
  constructor(
    onHashed: () => void,
    limit = 2000,
    hash: (source: string) => Promise<string> = sourceHash
  ) {
    this._onHashed = onHashed;
    this._limit = limit;
    this._hash = hash;
  }

  /** Whether hashing failed for good (the page has no Web Crypto). */
  get unavailable(): boolean {
    return this._unavailable;
  }

  /** The hash of `source` if known; otherwise `null`, and it is being computed. */
  get(source: string): string | null {
    const known = this._known.get(source);
    if (known !== undefined) {
      return known;
    }
    if (!this._unavailable && !this._pending.has(source)) {
      this._start(source);
    }
    return null;
  }

  private _start(source: string): void {
    this._pending.add(source);
    this._hash(source).then(
      hash => {
        this._pending.delete(source);
        this._remember(source, hash);
        this._onHashed();
      },
      (reason: unknown) => {
        this._pending.delete(source);
        this._unavailable = true;
        console.warn('jupyter-repro: cannot hash cell sources', reason);
      }
    );
  }

  private _remember(source: string, hash: string): void {
    this._known.set(source, hash);
    while (this._known.size > this._limit) {
      const oldest = this._known.keys().next();
      if (oldest.done === true) {
        break;
      }
      this._known.delete(oldest.value);
    }
  }

  private _onHashed: () => void;
  private _limit: number;
  private _hash: (source: string) => Promise<string>;
  private _known = new Map<string, string>();
  private _pending = new Set<string>();
  private _unavailable = false;
}
