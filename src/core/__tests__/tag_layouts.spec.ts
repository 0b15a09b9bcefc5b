/// <reference types="node" />
/**
 * The golden tag-layout corpus (tests/fixtures/tag_layouts/*.json, shared with pytest's
 * tests/test_tag_layouts.py) against the TypeScript grammar: every cell's role and step, the steps in
 * notebook order, the ignore-output cells, or the error (class, message, cell, tag, hint). The
 * fixtures marked `python_bug` describe what users expect where tags.py is wrong today; this grammar
 * already does it.
 */
import * as fs from 'fs';
import * as path from 'path';

import { ICellInput, layoutCells, stepOrder, TagError } from '../tags';

const FIXTURES = path.resolve(__dirname, '../../../tests/fixtures/tag_layouts');

interface IFixture {
  description: string;
  cells: { cell_type: string; source: string; tags: string[] }[];
  python_bug?: string;
  expected?: {
    cells: { role: string; step: string | null }[];
    steps: { name: string; cells: number[]; after: string[]; no_cache: boolean }[];
    ignore_output_cells: number[];
  };
  expected_error?: {
    error: string;
    message: string;
    cell: number | null;
    tag?: string;
    hint?: string;
  };
}

const files = fs
  .readdirSync(FIXTURES)
  .filter(name => name.endsWith('.json'))
  .sort();

function load(name: string): IFixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf-8')) as IFixture;
}

function inputs(fixture: IFixture): ICellInput[] {
  return fixture.cells.map(cell => ({
    type: cell.cell_type,
    tags: cell.tags,
    source: cell.source
  }));
}

describe('the tag-layout corpus', () => {
  it('is there (shared with pytest)', () => {
    expect(files.length).toBeGreaterThanOrEqual(50);
  });

  it.each(files)('%s', name => {
    const fixture = load(name);
    const cells = inputs(fixture);
    const error = fixture.expected_error;
    if (error !== undefined) {
      let thrown: unknown = null;
      try {
        layoutCells(cells);
      } catch (reason) {
        thrown = reason;
      }
      expect(thrown).toBeInstanceOf(TagError);
      const tagError = thrown as TagError;
      expect(tagError.name).toBe(error.error);
      expect(tagError.message).toContain(error.message);
      expect(tagError.cell).toBe(error.cell);
      if (error.tag !== undefined) {
        expect(tagError.tag).toBe(error.tag);
      }
      if (error.hint !== undefined) {
        expect(tagError.hint ?? '').toContain(error.hint);
      }
      return;
    }
    const expected = fixture.expected;
    if (expected === undefined) {
      throw new Error(`${name}: neither "expected" nor "expected_error"`);
    }
    const layout = layoutCells(cells);
    expect(layout.cells.map(place => place.index)).toEqual(cells.map((_, i) => i));
    expect(layout.cells.map(place => ({ role: place.role, step: place.step }))).toEqual(
      expected.cells
    );
    expect(
      layout.steps.map(step => ({
        name: step.name,
        cells: step.cells,
        after: step.after.map(a => a.name),
        no_cache: step.noCache
      }))
    ).toEqual(expected.steps);
    expect(layout.cells.filter(place => place.ignoreOutput).map(place => place.index)).toEqual(
      expected.ignore_output_cells
    );
    // the colour order of the badges: steps with a cell, in order of first appearance
    expect(stepOrder(layout.cells)).toEqual(
      expected.steps
        .map(step => step.name)
        .filter(name => expected.cells.some(cell => cell.step === name))
    );
  });
});
