/**
 * Layout of the step graph for the pipeline panel (a small Sugiyama-style layering): steps in layers
 * by longest path from a source, long edges routed through placeholder slots so that they never cross a
 * step and their labels have room, layers ordered by the barycentre of their parents. Edges carry the
 * variables that flow along them. Pure, unit-tested; drawn by widgets/dag.ts.
 */
import { IStepInfo } from './api';

export interface IPoint {
  x: number;
  y: number;
}

export interface IGraphNode {
  name: string;
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface IGraphEdge {
  from: string;
  to: string;
  /** Variables the downstream step reads from the upstream one. */
  variables: string[];
  /** Declared with an `after:` tag only (no variable flows along it). */
  explicit: boolean;
  /** From the bottom of `from` to the top of `to`, through one point per skipped layer. */
  points: IPoint[];
  /** Where the label (the variables) is centred. */
  label: IPoint;
}

export interface IGraphLayout {
  nodes: IGraphNode[];
  edges: IGraphEdge[];
  width: number;
  height: number;
}

export interface ILayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  /** Horizontal gap between slots of a layer. */
  gapX: number;
  /** Vertical gap between layers (room for edge labels). */
  gapY: number;
  margin: number;
  /** Estimated width of one label character, to size the slots long edges pass through. */
  charWidth: number;
}

export const DEFAULT_LAYOUT: ILayoutOptions = {
  nodeWidth: 104,
  nodeHeight: 28,
  gapX: 14,
  gapY: 40,
  margin: 8,
  charWidth: 6
};

interface IEdgeSpec {
  from: string;
  to: string;
  variables: string[];
  explicit: boolean;
}

/** The edges of the step graph: direct dependencies (and `after:`), with the variables passed. */
export function graphEdges(steps: readonly IStepInfo[]): IEdgeSpec[] {
  const names = new Set(steps.map(s => s.name));
  const edges: IEdgeSpec[] = [];
  for (const step of steps) {
    const upstream = step.direct_depends_on ?? step.depends_on;
    const sources = [...upstream, ...step.after.filter(name => !upstream.includes(name))];
    for (const from of sources) {
      if (!names.has(from) || from === step.name) {
        continue;
      }
      const variables = step.inputs.filter(input => input.from === from).map(input => input.name);
      edges.push({
        from,
        to: step.name,
        variables,
        explicit: variables.length === 0 && step.after.includes(from)
      });
    }
  }
  return edges;
}

/** A slot in a layer: a step, or the place where a long edge crosses the layer. */
interface ISlot {
  id: string;
  step: string | null;
  width: number;
  parents: string[];
  x: number;
}

export function labelText(variables: readonly string[]): string {
  return variables.length <= 3
    ? variables.join(', ')
    : `${variables.slice(0, 2).join(', ')} +${variables.length - 2}`;
}

/** Place the steps top to bottom so that every edge points downwards. */
export function layoutGraph(
  steps: readonly IStepInfo[],
  options: ILayoutOptions = DEFAULT_LAYOUT
): IGraphLayout {
  const specs = graphEdges(steps);
  const { nodeWidth, nodeHeight, gapX, gapY, margin, charWidth } = options;

  // 1. layers by longest path (cycles, which the server reports as errors, are cut)
  const parentsOf = new Map<string, string[]>();
  for (const edge of specs) {
    parentsOf.set(edge.to, [...(parentsOf.get(edge.to) ?? []), edge.from]);
  }
  const layerOf = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (name: string): number => {
    const known = layerOf.get(name);
    if (known !== undefined) {
      return known;
    }
    if (visiting.has(name)) {
      return 0;
    }
    visiting.add(name);
    const parents = parentsOf.get(name) ?? [];
    const value = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depth));
    visiting.delete(name);
    layerOf.set(name, value);
    return value;
  };
  const layers: ISlot[][] = [];
  const slotOf = new Map<string, ISlot>();
  const addSlot = (layer: number, slot: ISlot): void => {
    while (layers.length <= layer) {
      layers.push([]);
    }
    layers[layer].push(slot);
    slotOf.set(slot.id, slot);
  };
  for (const step of steps) {
    addSlot(depth(step.name), {
      id: step.name,
      step: step.name,
      width: nodeWidth,
      parents: [],
      x: 0
    });
  }

  // 2. long edges pass through one slot per layer they cross
  const routes = specs.map((edge, index) => {
    const top = layerOf.get(edge.from) ?? 0;
    const bottom = layerOf.get(edge.to) ?? 0;
    const chain = [edge.from];
    const text = labelText(edge.variables);
    for (let layer = top + 1; layer < bottom; layer++) {
      const id = `\u0000${index}:${layer}`;
      addSlot(layer, {
        id,
        step: null,
        width: Math.max(24, text.length * charWidth + 8),
        parents: [chain[chain.length - 1]],
        x: 0
      });
      chain.push(id);
    }
    chain.push(edge.to);
    const target = slotOf.get(edge.to);
    if (target !== undefined && bottom > top) {
      target.parents.push(chain[chain.length - 2]);
    }
    return chain;
  });

  // 3. order each layer by the barycentre of its parents' positions (stable: ties keep step order)
  const position = new Map<string, number>();
  layers.forEach((slots, d) => {
    if (d > 0) {
      const centre = (slot: ISlot): number => {
        const known = slot.parents
          .map(p => position.get(p))
          .filter((v): v is number => v !== undefined);
        return known.length === 0
          ? Number.MAX_SAFE_INTEGER
          : known.reduce((a, b) => a + b, 0) / known.length;
      };
      const order = slots.map((slot, i) => ({ slot, i, key: centre(slot) }));
      order.sort((a, b) => a.key - b.key || a.i - b.i);
      layers[d] = order.map(o => o.slot);
    }
    layers[d].forEach((slot, i) => position.set(slot.id, i));
  });

  // 4. coordinates: every layer centred
  const rowWidth = (slots: ISlot[]): number =>
    slots.reduce((sum, slot) => sum + slot.width, 0) + Math.max(0, slots.length - 1) * gapX;
  const width = margin * 2 + Math.max(nodeWidth, ...layers.map(rowWidth));
  const yOf = (d: number): number => margin + d * (nodeHeight + gapY);
  layers.forEach(slots => {
    let x = (width - rowWidth(slots)) / 2;
    for (const slot of slots) {
      slot.x = x;
      x += slot.width + gapX;
    }
  });
  const centreX = (id: string): number => {
    const slot = slotOf.get(id);
    return slot === undefined ? 0 : slot.x + slot.width / 2;
  };

  const nodes: IGraphNode[] = [];
  layers.forEach((slots, d) => {
    for (const slot of slots) {
      if (slot.step !== null) {
        nodes.push({
          name: slot.step,
          layer: d,
          x: slot.x,
          y: yOf(d),
          width: slot.width,
          height: nodeHeight
        });
      }
    }
  });

  const edges: IGraphEdge[] = specs.map((edge, index) => {
    const chain = routes[index];
    const top = layerOf.get(edge.from) ?? 0;
    const points: IPoint[] = [{ x: centreX(edge.from), y: yOf(top) + nodeHeight }];
    for (let i = 1; i < chain.length - 1; i++) {
      points.push({ x: centreX(chain[i]), y: yOf(top + i) + nodeHeight / 2 });
    }
    const bottom = layerOf.get(edge.to) ?? 0;
    points.push({ x: centreX(edge.to), y: yOf(bottom) });
    const label =
      points.length > 2
        ? points[1]
        : { x: (points[0].x + points[1].x) / 2, y: (points[0].y + points[1].y) / 2 };
    return { ...edge, points, label };
  });

  const height = layers.length === 0 ? 0 : yOf(layers.length - 1) + nodeHeight + margin;
  return { nodes, edges, width, height };
}
