/**
 * The step graph as SVG: one box per step in its colour, arrows for dependencies labelled with the
 * variables that flow along them, dashed arrows for `after:` tags, and a status dot per step after a
 * run or verify. Clicking a step asks to show its first cell.
 */
import { Widget } from '@lumino/widgets';
import { ISignal, Signal } from '@lumino/signaling';

import { stepColour, textColourOn } from '../core/format';
import { IPoint, labelText, layoutGraph } from '../core/graph';
import { IStepInfo, IStepResult } from '../core/api';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> = {}
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  return element;
}

/** A path through `points` with vertical tangents at every point (smooth, always downwards). */
export function edgePath(points: readonly IPoint[]): string {
  let d = `M ${points[0].x} ${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const dy = (b.y - a.y) / 2;
    d += ` C ${a.x} ${a.y + dy}, ${b.x} ${b.y - dy}, ${b.x} ${b.y}`;
  }
  return d;
}

export class DagView extends Widget {
  constructor() {
    super();
    this.addClass('jp-repro-dag');
  }

  /** A step box was clicked. */
  get stepClicked(): ISignal<this, string> {
    return this._stepClicked;
  }

  /** Draw `steps` (in the colours of `order`), with the statuses of the last run if any. */
  render(
    steps: readonly IStepInfo[],
    order: readonly string[],
    statuses: readonly IStepResult[] = []
  ): void {
    this.node.replaceChildren();
    if (steps.length === 0) {
      return;
    }
    const layout = layoutGraph(steps);
    const root = svg('svg', {
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      width: layout.width,
      height: layout.height,
      role: 'img',
      'aria-label': `Step graph: ${steps.map(s => s.name).join(', ')}`
    });
    root.style.maxWidth = '100%';
    root.style.height = 'auto';

    const defs = svg('defs');
    const marker = svg('marker', {
      id: `${this.id || 'jp-repro'}-arrow`,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse'
    });
    marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'jp-repro-dag-arrowhead' }));
    defs.append(marker);
    root.append(defs);

    const edges = svg('g', { class: 'jp-repro-dag-edges' });
    const labels = svg('g', { class: 'jp-repro-dag-labels' });
    for (const edge of layout.edges) {
      const path = svg('path', {
        d: edgePath(edge.points),
        class: `jp-repro-dag-edge${edge.explicit ? ' jp-repro-dag-edge-explicit' : ''}`,
        'marker-end': `url(#${marker.id})`
      });
      const title = svg('title');
      title.textContent = edge.explicit
        ? `${edge.to} runs after ${edge.from} (after: tag)`
        : `${edge.from} → ${edge.to}: ${edge.variables.join(', ')}`;
      path.append(title);
      edges.append(path);
      const text = edge.explicit ? 'after' : labelText(edge.variables);
      if (text.length > 0) {
        const group = svg('g', {
          class: 'jp-repro-dag-label',
          'data-from': edge.from,
          'data-to': edge.to
        });
        const width = text.length * 6 + 8;
        group.append(
          svg('rect', {
            x: edge.label.x - width / 2,
            y: edge.label.y - 8,
            width,
            height: 16,
            rx: 8
          })
        );
        const label = svg('text', {
          x: edge.label.x,
          y: edge.label.y,
          'text-anchor': 'middle',
          'dominant-baseline': 'central'
        });
        label.textContent = text;
        group.append(label);
        labels.append(group);
      }
    }
    root.append(edges);

    const nodes = svg('g', { class: 'jp-repro-dag-nodes' });
    const byName = new Map(steps.map(s => [s.name, s]));
    for (const node of layout.nodes) {
      const step = byName.get(node.name);
      const colour = stepColour(node.name, order);
      const group = svg('g', {
        class: 'jp-repro-dag-node',
        'data-step': node.name,
        tabindex: 0,
        role: 'button'
      });
      group.append(
        svg('rect', {
          x: node.x,
          y: node.y,
          width: node.width,
          height: node.height,
          rx: 6,
          style: `fill: ${colour}`
        })
      );
      const name = svg('text', {
        x: node.x + node.width / 2,
        y: node.y + node.height / 2,
        'text-anchor': 'middle',
        'dominant-baseline': 'central',
        style: `fill: ${textColourOn(colour)}`
      });
      name.textContent = node.name.length > 15 ? `${node.name.slice(0, 14)}…` : node.name;
      group.append(name);
      const status = statuses.find(s => s.name === node.name);
      if (status !== undefined) {
        const dot = svg('circle', {
          cx: node.x + node.width - 1,
          cy: node.y + 1,
          r: 5,
          class: 'jp-repro-dag-status',
          'data-status': status.status
        });
        group.append(dot);
      }
      const title = svg('title');
      title.textContent = step === undefined ? node.name : describeStep(step, status);
      group.append(title);
      group.addEventListener('click', () => {
        this._stepClicked.emit(node.name);
      });
      group.addEventListener('keydown', (event: KeyboardEvent) => {
        if (event.key === 'Enter' || event.key === ' ') {
          this._stepClicked.emit(node.name);
        }
      });
      nodes.append(group);
    }
    root.append(nodes, labels);
    this.node.append(root);
  }

  private _stepClicked = new Signal<this, string>(this);
}

function describeStep(step: IStepInfo, status?: IStepResult): string {
  const lines = [
    `Step ${step.name} (cell${step.cells.length === 1 ? '' : 's'} ${step.cells.join(', ')})`
  ];
  if (step.inputs.length > 0) {
    lines.push(`reads: ${step.inputs.map(i => `${i.name} (${i.from})`).join(', ')}`);
  }
  if (step.outputs.length > 0) {
    lines.push(`provides: ${step.outputs.join(', ')}`);
  }
  if (step.no_cache === true) {
    lines.push('never cached (no-cache)');
  }
  if (status !== undefined) {
    lines.push(`last run: ${status.status}`);
  }
  return lines.join('\n');
}
