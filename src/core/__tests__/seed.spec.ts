import { notebookSeed, seedingCode } from '../seed';

describe('seeding code', () => {
  it('loads the extension, with the seed in the environment first', () => {
    expect(seedingCode(42)).toBe(
      "__import__('os').environ['JUPYTER_REPRO_SEED'] = '42'\n" +
        "get_ipython().extension_manager.load_extension('jupyter_repro')"
    );
    expect(seedingCode(null)).toBe(
      "get_ipython().extension_manager.load_extension('jupyter_repro')"
    );
  });

  it('reads only integer seeds from the metadata', () => {
    expect(notebookSeed({ seed: 42 })).toBe(42);
    expect(notebookSeed({ seed: '42; import os' })).toBeNull();
    expect(notebookSeed({ seed: 1.5 })).toBeNull();
    expect(notebookSeed({ seed: -1 })).toBeNull();
    expect(notebookSeed(undefined)).toBeNull();
  });
});
