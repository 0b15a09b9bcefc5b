/// <reference types="node" />
/**
 * The source hash against the fixture pytest checks too (tests/fixtures/source_hashes.json), so the
 * hash the browser records is the one jupyter_repro.hashing.source_hash computes in verify.
 */
import * as fs from 'fs';
import * as path from 'path';

import { NoWebCryptoError, SOURCE_HASH_LENGTH, SourceHashes, sourceHash } from '../sourcehash';

const FIXTURE = path.resolve(__dirname, '../../../tests/fixtures/source_hashes.json');

interface IFixture {
  cases: { source: string; hash: string }[];
}

const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf-8')) as IFixture;

describe('sourceHash', () => {
  it('has cases to check', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(5);
  });

  it.each(fixture.cases.map(c => [JSON.stringify(c.source), c] as const))(
    'gives the pinned hash of %s',
    async (_, { source, hash }) => {
      await expect(sourceHash(source)).resolves.toBe(hash);
    }
  );

  it('is 16 hex digits, and any edit changes it', async () => {
    const hash = await sourceHash('x = 1');
    expect(hash).toMatch(new RegExp(`^[0-9a-f]{${SOURCE_HASH_LENGTH}}$`));
    expect(await sourceHash('x = 1 ')).not.toBe(hash);
  });

  it('says so where the page has no Web Crypto (not a secure context)', async () => {
    const original = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      await expect(sourceHash('x = 1')).rejects.toBeInstanceOf(NoWebCryptoError);
    } finally {
      if (original !== undefined) {
        Object.defineProperty(globalThis, 'crypto', original);
      }
    }
    expect(await sourceHash('')).toBe('e3b0c44298fc1c14');
  });
});

/** Resolves after the promise callbacks queued so far have run. */
function settle(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

describe('SourceHashes', () => {
  it('answers null until the hash is known, then from memory, hashing each source once', async () => {
    const hashed: string[] = [];
    let calls = 0;
    const hashes = new SourceHashes(
      () => (calls += 1),
      10,
      source => {
        hashed.push(source);
        return Promise.resolve(`h(${source})`);
      }
    );
    expect(hashes.get('a')).toBeNull();
    expect(hashes.get('a')).toBeNull(); // still computing: not asked twice
    await settle();
    expect(calls).toBe(1);
    expect(hashes.get('a')).toBe('h(a)');
    expect(hashed).toEqual(['a']);
  });

  it('forgets the oldest hashes beyond its limit', async () => {
    const hashed: string[] = [];
    const hashes = new SourceHashes(
      () => undefined,
      2,
      source => {
        hashed.push(source);
        return Promise.resolve(source.toUpperCase());
      }
    );
    for (const source of ['a', 'b', 'c']) {
      hashes.get(source);
      await settle();
    }
    expect(hashes.get('c')).toBe('C');
    expect(hashes.get('a')).toBeNull(); // forgotten: hashed again
    expect(hashed).toEqual(['a', 'b', 'c', 'a']);
  });

  it('gives up for good when hashing is impossible', async () => {
    let calls = 0;
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const hashes = new SourceHashes(
      () => undefined,
      10,
      () => {
        calls += 1;
        return Promise.reject(new Error('no Web Crypto'));
      }
    );
    expect(hashes.get('a')).toBeNull();
    await settle();
    expect(hashes.unavailable).toBe(true);
    expect(hashes.get('b')).toBeNull();
    expect(calls).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});
