import { graphEdges, labelText, layoutGraph } from '../graph';
import { IStepInfo } from '../api';

function step(
  name: string,
  direct: string[],
  inputs: [string, string][] = [],
  after: string[] = []
): IStepInfo {
  return {
    name,
    cells: [],
    after,
    depends_on: direct,
    direct_depends_on: direct,
    inputs: inputs.map(([n, from]) => ({ name: n, from })),
    outputs: [],
    parameters: []
  };
}

// the example notebook's pipeline
const steps = [
  step('load', [], [['start_date', 'parameters']]),
  step('clean', ['load'], [['sales', 'load']]),
  step('aggregate', ['clean'], [['sales', 'clean']]),
  step('model', ['clean'], [['sales', 'clean']]),
  step(
    'report',
    ['clean', 'aggregate'],
    [
      ['revenue', 'aggregate'],
      ['sales', 'clean'],
      ['end_date', 'parameters']
    ]
  )
];

describe('graphEdges', () => {
  it('labels each edge with the variables passed', () => {
    expect(graphEdges(steps).map(e => [e.from, e.to, e.variables.join(',')])).toEqual([
      ['load', 'clean', 'sales'],
      ['clean', 'aggregate', 'sales'],
      ['clean', 'model', 'sales'],
      ['clean', 'report', 'sales'],
      ['aggregate', 'report', 'revenue']
    ]);
  });

  it('draws after: dependencies without variables as explicit edges', () => {
    const edges = graphEdges([
      step('a', []),
      step('b', [], [], ['a']),
      step('c', [], [], ['missing'])
    ]);
    expect(edges).toEqual([{ from: 'a', to: 'b', variables: [], explicit: true }]);
  });

  it('falls back to depends_on when direct dependencies are not given', () => {
    const s = step('b', ['a'], [['x', 'a']]);
    delete s.direct_depends_on;
    expect(graphEdges([step('a', []), s])).toHaveLength(1);
  });
});

describe('layoutGraph', () => {
  const layout = layoutGraph(steps);
  const node = (name: string) => {
    const found = layout.nodes.find(n => n.name === name);
    if (found === undefined) {
      throw new Error(`no node ${name}`);
    }
    return found;
  };

  it('puts every step below the steps it reads from', () => {
    expect(['load', 'clean', 'aggregate', 'model', 'report'].map(n => node(n).layer)).toEqual([
      0, 1, 2, 2, 3
    ]);
    for (const edge of layout.edges) {
      expect(node(edge.to).y).toBeGreaterThan(node(edge.from).y);
    }
  });

  it('routes a long edge through its own slot, clear of the steps', () => {
    const long = layout.edges.find(e => e.from === 'clean' && e.to === 'report');
    if (long === undefined) {
      throw new Error('no edge clean -> report');
    }
    expect(long.points).toHaveLength(3);
    const middle = long.points[1];
    for (const n of layout.nodes.filter(n => n.layer === 2)) {
      expect(middle.x < n.x || middle.x > n.x + n.width).toBe(true);
    }
    expect(long.label).toEqual(middle);
  });

  it('keeps the nodes of a layer apart and inside the drawing', () => {
    const layer2 = layout.nodes.filter(n => n.layer === 2).sort((a, b) => a.x - b.x);
    expect(layer2[0].x + layer2[0].width).toBeLessThan(layer2[1].x);
    for (const n of layout.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.x + n.width).toBeLessThanOrEqual(layout.width);
      expect(n.y + n.height).toBeLessThanOrEqual(layout.height);
    }
  });

  it('survives a cycle and an empty pipeline', () => {
    const cyclic = layoutGraph([step('a', ['b']), step('b', ['a'])]);
    expect(cyclic.nodes).toHaveLength(2);
    expect(layoutGraph([])).toEqual({ nodes: [], edges: [], width: 120, height: 0 });
  });

  it('shortens long labels', () => {
    expect(labelText(['a', 'b', 'c'])).toBe('a, b, c');
    expect(labelText(['a', 'b', 'c', 'd'])).toBe('a, b +2');
  });
});
