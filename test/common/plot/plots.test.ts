/** The SVG plots a report includes: well-formed, with what they claim to draw. */
import { describe, expect, it } from 'vitest';
import { barChartSvg } from '../../../common/plot/bar-chart.ts';
import { clusterMarkers, lineChartSvg } from '../../../common/plot/line-chart.ts';
import { layers, overlayGraphSvg } from '../../../common/plot/overlay-graph.ts';
import { niceTicks } from '../../../common/plot/svg.ts';
import { parseXml, type XmlElement } from '../../onode/emulators/xml-tree.ts';

const svg = (text: string): XmlElement => parseXml(`<?xml version="1.0"?>\n${text}`);
const all = (e: XmlElement, name: string): XmlElement[] => [
  ...(e.name === name ? [e] : []),
  ...e.children.flatMap((c) => all(c, name)),
];

describe('plots', () => {
  it('put ticks at round steps', () => {
    expect(niceTicks(0, 27.5)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(niceTicks(3.2, 3.9, 4)).toEqual([3.2, 3.4, 3.6, 3.8]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('draw one line per series and a dashed line per event, escaping names', () => {
    const doc = svg(
      lineChartSvg({
        title: 'fps <per viewer>',
        xLabel: 's',
        yLabel: 'fps',
        series: [
          {
            name: 'c1',
            points: [
              [0, 25],
              [1, 25],
              [2, 12],
              [3, 25],
            ],
          },
          {
            name: 'c2 & c3',
            points: [
              [0, 24],
              [3, 25],
            ],
          },
        ],
        markers: [{ at: 1.5, label: 'o4 killed' }],
      }),
    );
    const paths = all(doc, 'path');
    expect(paths).toHaveLength(2);
    expect(paths[0]?.attributes.d?.match(/[ML]/g)).toHaveLength(4);
    expect(all(doc, 'line').filter((l) => l.attributes['stroke-dasharray'] === '4 3')).toHaveLength(1);
    const texts = all(doc, 'text').map((t) => t.text);
    expect(texts).toContain('fps <per viewer>');
    expect(texts).toContain('c2 & c3');
    expect(texts).toContain('o4 killed');
  });

  it('draw a bar per value and a dash for a missing one', () => {
    const doc = svg(
      barChartSvg({
        title: 'startup',
        yLabel: 'ms',
        bars: [
          { name: 'c1', value: 80 },
          { name: 'c2', value: null },
        ],
      }),
    );
    expect(all(doc, 'rect').filter((r) => r.attributes.fill !== '#fff' && r.attributes.fill !== 'none')).toHaveLength(
      1,
    );
    expect(all(doc, 'text').map((t) => t.text)).toEqual(expect.arrayContaining(['80', '-', 'c1', 'c2']));
  });

  it('lay the overlay out from the servers down and draw each tree over its links', () => {
    const nodes = [
      { name: 'p1', role: 'pop' },
      { name: 'n1', role: 'node' },
      { name: 's1', role: 'server' },
      { name: 'lonely', role: 'node' },
    ];
    const links = [
      { a: 's1', b: 'n1', alive: true },
      { a: 'n1', b: 'p1', alive: false },
    ];
    expect(layers(nodes, links)).toEqual([['s1'], ['n1'], ['p1'], ['lonely']]);
    const doc = svg(
      overlayGraphSvg({
        title: 'trees',
        nodes,
        links,
        trees: [
          {
            movie: 'bars.mjpeg',
            server: 's1',
            edges: [
              ['s1', 'n1'],
              ['n1', 'p1'],
            ],
          },
        ],
      }),
    );
    const lines = all(doc, 'line');
    expect(lines.filter((l) => l.attributes['marker-end'] === 'url(#arrow0)')).toHaveLength(2);
    expect(lines.filter((l) => l.attributes['stroke-dasharray'] === '6 4')).toHaveLength(1);
    expect(all(doc, 'text').map((t) => t.text)).toContain('bars.mjpeg from s1');
  });
});

describe('event markers', () => {
  it('become one when they fall together, labelled by the first with how many more', () => {
    const marks = clusterMarkers(
      [
        { at: 9.6, label: 'o4: link-down' },
        { at: 9.5, label: 'o2: link-down' },
        { at: 9.7, label: 'o4: reroute' },
        { at: 15, label: 'o5: failover' },
      ],
      0.4,
    );
    expect(marks).toEqual([
      { at: 9.5, label: 'o2: link-down (+2)' },
      { at: 15, label: 'o5: failover' },
    ]);
  });
});
