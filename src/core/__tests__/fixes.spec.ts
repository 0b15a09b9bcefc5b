import {
  editsProblem,
  filesLine,
  FixEdit,
  FixFormatError,
  fixesForCause,
  fixLabel,
  fixTitle,
  IFix,
  outcomeLines,
  parseEdit,
  parseFixList,
  parseFixOutcome,
  pendingLine,
  sameCells,
  splitPreview,
  undoNote,
  unmatchedFixes
} from '../fixes';

/** A `GET fixes` answer as the contract (docs/rest-api.md) gives it. */
const LIST = {
  notebook: 'random.ipynb',
  run_id: 'r42',
  verdict: 'diverged',
  fixes: [
    {
      id: 'seed-outputs',
      kind: 'seed',
      choice: 'outputs',
      cell: 1,
      cause_kind: 'nondeterminism',
      description: 'record the seed and save the seeded outputs',
      preview: '--- a/random.ipynb\n+++ b/random.ipynb\n@@ -1 +1 @@\n-0.123\n+0.639\n',
      available: true,
      reason: null,
      edits: [
        { op: 'set_notebook_metadata', key: 'jupyter_repro', value: { seed: 42 } },
        {
          op: 'set_outputs',
          cell: 1,
          outputs: [{ output_type: 'stream', name: 'stdout', text: '0.639\n' }],
          execution_count: 1
        }
      ],
      files: []
    },
    {
      id: 'seed-cell',
      kind: 'seed',
      choice: 'cell',
      cell: 1,
      cause_kind: 'nondeterminism',
      description: 'insert a seeding cell at the top',
      preview: '',
      available: false,
      reason: 'the notebook already seeds',
      edits: [
        {
          op: 'insert_cell',
          index: 1,
          cell: { cell_type: 'code', source: 'random.seed(42)', metadata: {}, id: 'repro-seed' }
        }
      ],
      files: [],
      pending: ['outputs']
    },
    {
      id: 'pin-requirements',
      kind: 'pin',
      choice: 'requirements',
      cell: null,
      cause_kind: 'environment',
      description: 'pin the packages in requirements.txt',
      preview: '--- /dev/null\n+++ b/requirements.txt\n@@ -0,0 +1 @@\n+numpy==1.26.4\n',
      available: true,
      reason: null,
      edits: [],
      files: [{ path: 'requirements.txt', action: 'write' }]
    }
  ]
};

function fixOf(id: string): IFix {
  const fix = parseFixList(LIST).fixes.find(f => f.id === id);
  if (fix === undefined) {
    throw new Error(`no fix ${id}`);
  }
  return fix;
}

describe('parseFixList', () => {
  it('reads the documented answer', () => {
    const list = parseFixList(LIST);
    expect(list.run_id).toBe('r42');
    expect(list.fixes.map(f => [f.id, f.available, f.cell])).toEqual([
      ['seed-outputs', true, 1],
      ['seed-cell', false, 1],
      ['pin-requirements', true, null]
    ]);
    expect(list.fixes[0].edits[1]).toEqual(LIST.fixes[0].edits[1]);
    expect(list.fixes[2].files).toEqual([{ path: 'requirements.txt', action: 'write' }]);
  });

  it("keeps an inserted cell's id and what applying still computes", () => {
    const fix = fixOf('seed-cell');
    expect(fix.edits[0]).toEqual({
      op: 'insert_cell',
      index: 1,
      cell: {
        id: 'repro-seed',
        cell_type: 'code',
        source: 'random.seed(42)',
        metadata: {},
        outputs: [],
        execution_count: null
      }
    });
    expect(fix.pending).toEqual(['outputs']);
    expect(fixOf('seed-outputs').pending).toEqual([]);
  });

  it('makes a fix with an edit it cannot apply unavailable, keeping the others', () => {
    const answer = {
      ...LIST,
      fixes: [{ ...LIST.fixes[0], edits: [{ op: 'delete_everything' }] }, LIST.fixes[2]]
    };
    const list = parseFixList(answer);
    expect(list.fixes[0].available).toBe(false);
    expect(list.fixes[0].reason).toBe(
      "fixes[0].edits[0].op: this version of jupyter-repro cannot apply 'delete_everything'"
    );
    expect(list.fixes[1].available).toBe(true);
  });

  it('rejects an answer without a fix list, naming the field', () => {
    expect(() => parseFixList({ notebook: 'x.ipynb' })).toThrow(
      'fixes answer.fixes: expected a list'
    );
    expect(() => parseFixList([])).toThrow(FixFormatError);
  });

  it('rejects a fix without an id', () => {
    const answer = { ...LIST, fixes: [{ ...LIST.fixes[0], id: 7 }] };
    expect(() => parseFixList(answer)).toThrow('fixes[0].id: expected a string');
  });
});

describe('parseEdit', () => {
  it.each<[unknown, string]>([
    [{ op: 'set_source', cell: -1, source: 'x' }, 'e.cell: expected a cell index'],
    [{ op: 'set_source', cell: 1.5, source: 'x' }, 'e.cell: expected a cell index'],
    [{ op: 'set_source', cell: 0 }, 'e.source: expected a string'],
    [{ op: 'move_cell', from: 0 }, 'e.to: expected a cell index'],
    [{ op: 'set_cell_metadata', cell: 0, key: 'tags' }, 'e.value: expected a JSON value'],
    [{ op: 'set_outputs', cell: 0, outputs: ['text'] }, 'e.outputs: expected a list of objects'],
    [
      { op: 'insert_cell', index: 0, cell: { cell_type: 'heading', source: '' } },
      "e.cell.cell_type: unknown cell type 'heading'"
    ]
  ])('rejects %j', (edit, message) => {
    expect(() => parseEdit(edit, 'e')).toThrow(message);
  });

  it('gives an inserted code cell empty outputs and no execution count', () => {
    const edit = parseEdit(
      { op: 'insert_cell', index: 0, cell: { cell_type: 'code', source: 'import random' } },
      'e'
    );
    expect(edit).toEqual({
      op: 'insert_cell',
      index: 0,
      cell: {
        cell_type: 'code',
        source: 'import random',
        metadata: {},
        outputs: [],
        execution_count: null
      }
    });
  });

  it('keeps a null metadata value (it deletes the key)', () => {
    expect(parseEdit({ op: 'set_cell_metadata', cell: 2, key: 'tags', value: null }, 'e')).toEqual({
      op: 'set_cell_metadata',
      cell: 2,
      key: 'tags',
      value: null
    });
  });
});

describe('parseFixOutcome', () => {
  const OUTCOME = {
    notebook: 'random.ipynb',
    applied: [
      {
        id: 'seed-outputs',
        kind: 'seed',
        description: 'record the seed',
        changed: ['metadata.jupyter_repro.seed = 42', 'cell 1: outputs of the seeded run']
      }
    ],
    backup: null,
    edits: LIST.fixes[0].edits,
    files: [{ path: 'requirements.txt', action: 'write' }]
  };

  it('reads the documented answer', () => {
    const outcome = parseFixOutcome(OUTCOME);
    expect(outcome.edits).toHaveLength(2);
    expect(outcome.applied[0].changed).toHaveLength(2);
  });

  it('refuses an answer with an edit it does not know, as a whole', () => {
    const answer = { ...OUTCOME, edits: [...OUTCOME.edits, { op: 'rename_notebook' }] };
    expect(() => parseFixOutcome(answer)).toThrow(
      "edits[2].op: this version of jupyter-repro cannot apply 'rename_notebook'"
    );
  });

  it('refuses an answer without edits', () => {
    expect(() => parseFixOutcome({ ...OUTCOME, edits: undefined })).toThrow(
      'edits: expected a list of edits'
    );
  });

  it('tells the changed lines, then the files written', () => {
    expect(outcomeLines(parseFixOutcome(OUTCOME))).toEqual([
      'metadata.jupyter_repro.seed = 42',
      'cell 1: outputs of the seeded run',
      'wrote requirements.txt'
    ]);
  });

  it('takes one line of changes as well as a list', () => {
    const answer = {
      ...OUTCOME,
      applied: [
        { ...OUTCOME.applied[0], changed: 'inserted cell 0; saved new outputs in cell 0, 1' }
      ],
      files: []
    };
    expect(outcomeLines(parseFixOutcome(answer))).toEqual([
      'inserted cell 0; saved new outputs in cell 0, 1'
    ]);
    expect(() =>
      parseFixOutcome({ ...OUTCOME, applied: [{ ...OUTCOME.applied[0], changed: 3 }] })
    ).toThrow('applied[0].changed: expected a list of strings');
  });

  it('falls back on the description when the server lists no change', () => {
    const answer = { ...OUTCOME, applied: [{ ...OUTCOME.applied[0], changed: [] }], files: [] };
    expect(outcomeLines(parseFixOutcome(answer))).toEqual(['record the seed']);
  });
});

describe('matching fixes to causes', () => {
  const fixes = parseFixList(LIST).fixes;

  it('offers both seed choices for the cell cause, as choices', () => {
    const found = fixesForCause(fixes, { cell: 1, kind: 'nondeterminism' });
    expect(found.map(f => f.id)).toEqual(['seed-outputs', 'seed-cell']);
    expect(found.map(f => fixLabel(f, found.length))).toEqual(['Fix: outputs', 'Fix: cell']);
  });

  it('matches on the cell and the kind both', () => {
    expect(fixesForCause(fixes, { cell: 2, kind: 'nondeterminism' })).toEqual([]);
    expect(fixesForCause(fixes, { cell: 1, kind: 'code' })).toEqual([]);
    expect(fixesForCause(fixes, { cell: null, kind: 'environment' }).map(f => f.id)).toEqual([
      'pin-requirements'
    ]);
  });

  it('calls a single fix "Fix"', () => {
    expect(fixLabel(fixOf('pin-requirements'), 1)).toBe('Fix');
  });

  it('lists the fixes that belong to no shown cause', () => {
    const shown = [{ cell: 1, kind: 'nondeterminism' }];
    expect(unmatchedFixes(fixes, shown).map(f => f.id)).toEqual(['pin-requirements']);
  });

  it('titles an unavailable fix with its reason', () => {
    expect(fixTitle(fixOf('seed-cell'))).toBe('the notebook already seeds');
    expect(fixTitle(fixOf('seed-outputs'))).toBe('record the seed and save the seeded outputs');
  });
});

describe('editsProblem', () => {
  const types = ['markdown', 'code', 'code'];

  it('accepts edits that fit, following inserts and moves', () => {
    const edits: FixEdit[] = [
      {
        op: 'insert_cell',
        index: 3,
        cell: { cell_type: 'markdown', source: '# seeded', metadata: {} }
      },
      { op: 'move_cell', from: 3, to: 0 },
      // after the move, cell 2 is the first code cell
      { op: 'set_outputs', cell: 2, outputs: [], execution_count: null },
      { op: 'set_source', cell: 3, source: 'x' }
    ];
    expect(editsProblem(edits, types)).toBeNull();
  });

  it('checks each index against the notebook its edit sees', () => {
    const edits: FixEdit[] = [
      { op: 'move_cell', from: 1, to: 0 },
      // cell 1 is now the markdown cell
      { op: 'set_outputs', cell: 1, outputs: [], execution_count: 1 }
    ];
    expect(editsProblem(edits, types)).toBe('edit 2 (set_outputs): cell 1 is not a code cell');
  });

  it.each<[FixEdit, string]>([
    [
      { op: 'set_source', cell: 3, source: '' },
      'edit 1 (set_source): cell 3 is out of range: the notebook has 3 cell(s)'
    ],
    [
      { op: 'insert_cell', index: 4, cell: { cell_type: 'raw', source: '', metadata: {} } },
      'edit 1 (insert_cell): insert position 4 is out of range: the notebook has 3 cell(s)'
    ],
    [
      { op: 'move_cell', from: 0, to: 3 },
      'edit 1 (move_cell): cell 3 is out of range: the notebook has 3 cell(s)'
    ],
    [
      { op: 'set_cell_metadata', cell: 5, key: 'tags', value: [] },
      'edit 1 (set_cell_metadata): cell 5 is out of range: the notebook has 3 cell(s)'
    ]
  ])('refuses %j', (edit, message) => {
    expect(editsProblem([edit], types)).toBe(message);
  });

  it('needs no cell for notebook metadata', () => {
    expect(editsProblem([{ op: 'set_notebook_metadata', key: 'k', value: 1 }], [])).toBeNull();
  });
});

describe('what the dialog says besides the preview', () => {
  it('names the side files and what the server does with them', () => {
    expect(filesLine(fixOf('pin-requirements').files)).toBe(
      'The server also writes requirements.txt.'
    );
    expect(
      filesLine([
        { path: 'requirements.txt', action: 'write' },
        { path: 'data/sales.csv', action: 'download', url: 'https://example.org/sales.csv' }
      ])
    ).toBe(
      'The server also writes requirements.txt, downloads data/sales.csv from https://example.org/sales.csv.'
    );
    expect(filesLine([])).toBeNull();
  });

  it('warns that applying re-executes the notebook', () => {
    expect(pendingLine(fixOf('seed-cell'))).toBe(
      'Applying takes a moment: the server re-executes the notebook to compute its new outputs.'
    );
    expect(pendingLine(fixOf('seed-outputs'))).toBeNull();
  });
});

describe('sameCells', () => {
  it('compares ids and sources in order', () => {
    const a = [
      { id: 'a', source: 'x' },
      { id: 'b', source: 'y' }
    ];
    expect(sameCells(a, [...a])).toBe(true);
    expect(sameCells(a, [a[1], a[0]])).toBe(false);
    expect(sameCells(a, [a[0], { id: 'b', source: 'y2' }])).toBe(false);
    expect(sameCells(a, [a[0]])).toBe(false);
  });
});

describe('splitPreview', () => {
  it('splits a diff of two files, naming each', () => {
    const preview = [
      '--- a/nb.ipynb',
      '+++ b/nb.ipynb',
      '@@ -1,2 +1,2 @@',
      ' cell 1',
      '-0.1',
      '+0.6',
      '--- /dev/null',
      '+++ b/requirements.txt',
      '@@ -0,0 +1 @@',
      '+numpy==1.26.4',
      ''
    ].join('\n');
    expect(splitPreview(preview)).toEqual([
      { path: 'nb.ipynb', diff: '@@ -1,2 +1,2 @@\n cell 1\n-0.1\n+0.6' },
      { path: 'requirements.txt', diff: '@@ -0,0 +1 @@\n+numpy==1.26.4\n' }
    ]);
  });

  it("names the notebook by its old name in the server's headers", () => {
    const preview = '--- random.ipynb\n+++ random.ipynb (fixed)\n@@ -1 +1 @@\n-0.1\n+0.6';
    expect(splitPreview(preview).map(part => part.path)).toEqual(['random.ipynb']);
  });

  it('reads a removed line that starts with "--" as content, not a header', () => {
    const preview = [
      '--- a/q.sql',
      '+++ b/q.sql',
      '@@ -1,2 +1,2 @@',
      '--- a comment',
      '+++ counter',
      ' select 1'
    ].join('\n');
    const [file] = splitPreview(preview);
    expect(file.path).toBe('q.sql');
    expect(file.diff.split('\n')).toHaveLength(4);
  });

  it('keeps a diff without headers as one unnamed part', () => {
    expect(splitPreview('@@ -1 +1 @@\n-a\n+b')).toEqual([
      { path: null, diff: '@@ -1 +1 @@\n-a\n+b' }
    ]);
    expect(splitPreview('')).toEqual([]);
  });
});

describe('undoNote', () => {
  it('says when Edit → Undo reverts nothing of the fix', () => {
    expect(undoNote({ cellEdits: false, outputs: 1, metadataKeys: ['jupyter_repro'] })).toBe(
      'Edit → Undo does not revert this fix (JupyterLab does not undo outputs or notebook metadata): "Undo fix" does.'
    );
  });

  it('names what only "Undo fix" reverts', () => {
    expect(undoNote({ cellEdits: true, outputs: 2, metadataKeys: [] })).toBe(
      'Edit → Undo reverts the cell edits in one step; the outputs of 2 cells only "Undo fix" reverts.'
    );
    expect(undoNote({ cellEdits: true, outputs: 1, metadataKeys: ['jupyter_repro'] })).toBe(
      'Edit → Undo reverts the cell edits in one step; the outputs and the notebook metadata (jupyter_repro) only "Undo fix" reverts.'
    );
  });

  it('says one step when the fix only edits cells', () => {
    expect(undoNote({ cellEdits: true, outputs: 0, metadataKeys: [] })).toBe(
      'Edit → Undo reverts this fix in one step, as does "Undo fix".'
    );
  });
});
