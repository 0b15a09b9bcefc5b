/**
 * Applying fix edits to a real shared notebook (@jupyter/ydoc's YNotebook, the model JupyterLab
 * edits), in both undo modes JupyterLab has: per-cell undo (its default) and document-wide.
 */
import { YNotebook } from '@jupyter/ydoc';
import type { INotebookContent } from '@jupyterlab/nbformat';

import { FixEdit } from '../core/fixes';
import { applyEdits, EditsNotApplicable, IAppliedEdits, sharedOutputsWriter } from '../fixapply';

// @jupyter/ydoc builds a cell (reads its text, gives it an undo manager) before the cell joins the
// notebook's document, which Yjs warns about (in JupyterLab too); keep the test output readable and
// let every other warning through
const CELL_CONSTRUCTION_WARNINGS = [
  'Invalid access: Add Yjs type to a document',
  '[yjs#509] Not same Y.Doc'
];
const warn = console.warn.bind(console);
beforeAll(() => {
  jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    const message = String(args[0]);
    if (!CELL_CONSTRUCTION_WARNINGS.some(known => message.startsWith(known))) {
      warn(...args);
    }
  });
});

const CONTENT: INotebookContent = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' } },
  cells: [
    { id: 'intro', cell_type: 'markdown', source: '# Random', metadata: {} },
    {
      id: 'draw',
      cell_type: 'code',
      source: 'import random\nprint(random.random())',
      metadata: { tags: ['step:draw'] },
      outputs: [{ output_type: 'stream', name: 'stdout', text: '0.123\n' }],
      execution_count: 3
    },
    {
      id: 'after',
      cell_type: 'code',
      source: 'print("done")',
      metadata: {},
      outputs: [],
      execution_count: 4
    }
  ]
};

const SEEDED_OUTPUT = { output_type: 'stream', name: 'stdout', text: '0.639\n' };

/** What the seed "outputs" fix does: the seed in the metadata, the seeded run's outputs. */
const SEED_OUTPUTS: FixEdit[] = [
  { op: 'set_notebook_metadata', key: 'jupyter_repro', value: { seed: 42 } },
  { op: 'set_outputs', cell: 1, outputs: [SEEDED_OUTPUT], execution_count: 1 }
];

/** What the seed "cell" fix does: a seeding cell inserted, then moved above the first code cell. */
const SEED_CELL: FixEdit[] = [
  {
    op: 'insert_cell',
    index: 3,
    cell: {
      cell_type: 'code',
      source: 'import random\nrandom.seed(42)',
      metadata: { tags: ['setup'] }
    }
  },
  { op: 'move_cell', from: 3, to: 1 },
  { op: 'set_source', cell: 1, source: 'import random\nrandom.seed(42)  # jupyter-repro' },
  { op: 'set_cell_metadata', cell: 2, key: 'tags', value: null },
  { op: 'set_cell_metadata', cell: 3, key: 'tags', value: ['ignore-output'] }
];

const notebooks: YNotebook[] = [];

function open(documentWideUndo = false): YNotebook {
  const notebook = YNotebook.create({
    disableDocumentWideUndoRedo: !documentWideUndo,
    data: JSON.parse(JSON.stringify(CONTENT)) as INotebookContent // Yjs takes this realm's objects only
  });
  // what the user had done before: nothing to undo of the fix's own making
  notebook.undoManager.clear();
  notebooks.push(notebook);
  return notebook;
}

afterEach(() => {
  notebooks.splice(0).forEach(notebook => {
    notebook.dispose();
  });
});

function apply(notebook: YNotebook, edits: FixEdit[]): IAppliedEdits {
  return applyEdits(notebook, edits, sharedOutputsWriter(notebook));
}

function sources(notebook: YNotebook): string[] {
  return notebook.cells.map(cell => cell.getSource());
}

describe.each([
  ['per-cell undo (JupyterLab default)', false],
  ['document-wide undo', true]
])('applyEdits, %s', (_, documentWide) => {
  it('sets the seeded outputs and the seed', () => {
    const notebook = open(documentWide);
    const applied = apply(notebook, SEED_OUTPUTS);
    const cell = notebook.toJSON().cells[1];
    expect(cell.outputs).toEqual([SEEDED_OUTPUT]);
    expect(cell.execution_count).toBe(1);
    expect(notebook.getMetadata('jupyter_repro')).toEqual({ seed: 42 });
    expect(applied.notebookMetadataKeys).toEqual(['jupyter_repro']);
    expect(applied.outputCells).toEqual(['draw']);
    // outputs and notebook metadata are outside JupyterLab's undo: nothing for Edit → Undo
    expect(applied.oneUndoStep).toBe(false);
    expect(notebook.canUndo()).toBe(false);
  });

  it('inserts, moves and edits cells, each edit seeing the previous ones', () => {
    const notebook = open(documentWide);
    apply(notebook, SEED_CELL);
    const cells = notebook.toJSON().cells;
    expect(cells.map(c => c.id ?? 'new')).toEqual(['intro', cells[1].id, 'draw', 'after']);
    expect(cells[1].source).toBe('import random\nrandom.seed(42)  # jupyter-repro');
    expect(cells[1].metadata).toEqual({ tags: ['setup'] });
    expect(cells[1].outputs).toEqual([]);
    expect(cells[2].metadata).toEqual({});
    expect(cells[3].metadata).toEqual({ tags: ['ignore-output'] });
    // the moved cell keeps its outputs
    expect(cells[2].outputs).toEqual(CONTENT.cells[1].outputs);
  });

  it('is undone in one step of the notebook undo (the cell edits; not outputs, metadata)', () => {
    const notebook = open(documentWide);
    const applied = apply(notebook, [...SEED_OUTPUTS, ...SEED_CELL]);
    expect(applied.oneUndoStep).toBe(true);
    notebook.undo();
    const cells = notebook.toJSON().cells;
    expect(cells.map(c => [c.id, c.source, c.metadata])).toEqual(
      CONTENT.cells.map(c => [c.id, c.source, c.metadata])
    );
    expect(notebook.canUndo()).toBe(false);
    // JupyterLab's notebook undo covers neither outputs nor notebook metadata: revert() does
    expect(cells[1].outputs).toEqual([SEEDED_OUTPUT]);
    expect(notebook.getMetadata('jupyter_repro')).toEqual({ seed: 42 });
  });

  it('is not merged with an edit made just before it, nor with one made just after', () => {
    const notebook = open(documentWide);
    notebook.transact(() => {
      notebook.insertCell(3, { cell_type: 'markdown', source: 'before' });
    });
    apply(notebook, SEED_CELL);
    notebook.transact(() => {
      notebook.insertCell(0, { cell_type: 'markdown', source: 'after' });
    });
    notebook.undo(); // the later edit
    notebook.undo(); // the fix
    expect(sources(notebook)).toEqual([...CONTENT.cells.map(c => c.source), 'before']);
  });

  it('reverts the whole fix, notebook metadata included', () => {
    const notebook = open(documentWide);
    notebook.setMetadata('jupyter_repro', { steps: 'kept' });
    const applied = apply(notebook, [...SEED_OUTPUTS, ...SEED_CELL]);
    expect(applied.revert()).toBe(true);
    expect(notebook.toJSON().cells).toEqual(CONTENT.cells);
    expect(notebook.getMetadata('jupyter_repro')).toEqual({ steps: 'kept' });
  });

  it('removes a metadata key that was absent before, on revert', () => {
    const notebook = open(documentWide);
    const applied = apply(notebook, SEED_OUTPUTS);
    applied.revert();
    expect(notebook.getMetadata('jupyter_repro')).toBeUndefined();
    expect(notebook.toJSON().cells[1].outputs).toEqual(CONTENT.cells[1].outputs);
  });

  it('does not revert once the notebook was changed after the fix', () => {
    const notebook = open(documentWide);
    const applied = apply(notebook, SEED_CELL);
    notebook.transact(() => {
      notebook.deleteCell(0);
    });
    expect(applied.revert()).toBe(false);
    expect(notebook.cells).toHaveLength(3);
    expect(notebook.getCell(0).getSource()).toBe('import random\nrandom.seed(42)  # jupyter-repro');
  });
});

describe('applyEdits writes outputs', () => {
  it('after the cell edits, to the cell they are meant for, wherever it moved', () => {
    const notebook = open();
    const written: [string, unknown[], number | null, string[]][] = [];
    const edits: FixEdit[] = [
      { op: 'set_outputs', cell: 1, outputs: [SEEDED_OUTPUT], execution_count: 1 },
      { op: 'move_cell', from: 1, to: 2 },
      { op: 'set_outputs', cell: 1, outputs: [], execution_count: null }
    ];
    applyEdits(notebook, edits, (id, outputs, count) => {
      written.push([id, [...outputs], count, sources(notebook)]);
    });
    // the cell edits are done when the outputs are written: 'draw' is last already
    const order = ['# Random', 'print("done")', 'import random\nprint(random.random())'];
    expect(written).toEqual([
      ['draw', [SEEDED_OUTPUT], 1, order],
      ['after', [], null, order]
    ]);
  });
});

describe('applyEdits gives an inserted cell', () => {
  function insert(id: string): FixEdit {
    return {
      op: 'insert_cell',
      index: 0,
      cell: { id, cell_type: 'raw', source: '', metadata: {} }
    };
  }

  it("the server's id", () => {
    const notebook = open();
    apply(notebook, [insert('repro-seed')]);
    expect(notebook.getCell(0).id).toBe('repro-seed');
  });

  it('an id of its own when the notebook has that one already', () => {
    const notebook = open();
    apply(notebook, [insert('draw')]);
    const ids = notebook.cells.map(cell => cell.id);
    expect(new Set(ids).size).toBe(4);
    expect(ids.slice(1)).toEqual(['intro', 'draw', 'after']);
  });
});

describe('applyEdits refuses edits that do not fit', () => {
  it('changes nothing when an index is out of range', () => {
    const notebook = open();
    const edits: FixEdit[] = [
      { op: 'set_notebook_metadata', key: 'jupyter_repro', value: { seed: 1 } },
      { op: 'set_source', cell: 3, source: 'x' }
    ];
    expect(() => apply(notebook, edits)).toThrow(EditsNotApplicable);
    expect(() => apply(notebook, edits)).toThrow(
      'edit 2 (set_source): cell 3 is out of range: the notebook has 3 cell(s)'
    );
    expect(notebook.getMetadata('jupyter_repro')).toBeUndefined();
    expect(notebook.canUndo()).toBe(false);
  });

  it('changes nothing when outputs are meant for a markdown cell', () => {
    const notebook = open();
    expect(() =>
      apply(notebook, [{ op: 'set_outputs', cell: 0, outputs: [], execution_count: null }])
    ).toThrow('edit 1 (set_outputs): cell 0 is not a code cell');
    expect(notebook.toJSON().cells).toEqual(CONTENT.cells);
  });
});
