/**
 * GET /metrics on a real overlay: the report topology on loopback, a client playing at o5. Every
 * node's text passes `promtool check metrics` and carries real values (links and RTTs for each
 * neighbour, the movie's packets along the tree, the POP's session), and a real Prometheus
 * scraping the config `--prometheus` writes finds every node up with the same values.
 * Starts processes: run under the e2e lock.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusConfig, scrapeTargets } from '../../onode/emulators/prometheus-config.ts';
import { promtoolProblems } from '../onode/net/promtool.ts';
import { ROOT, suiteRun } from './loopback-harness.ts';
import { PrometheusProcess } from './prometheus-harness.ts';

const PORTS = { bootstrap: 17600, overlay: 14600, status: 17680, rtsp: 18680 };
const MOVIE = 'bars.mjpeg';

/** The value of the first series of `name` whose labels include every `want` pair. */
function sample(text: string, name: string, want: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(want).every(([k, v]) => labels.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics of the report topology with a viewer at o5', () => {
  const run = suiteRun(join(ROOT, 'topologies/report.json5'), PORTS, { frames: 40 });
  const prometheus = new PrometheusProcess();
  let stopClient: () => void = () => {};
  const texts = new Map<string, string>();
  const metricsText = async (node: string): Promise<string> =>
    (await fetch(`http://${run.address(node)}:${PORTS.status}/metrics`)).text();

  beforeAll(async () => {
    const { child } = run.startClient([
      '--address',
      '127.0.6.20',
      '--pop',
      run.topology.nodes.get('o5')?.clientAddresses[0] ?? '',
      '--movie',
      MOVIE,
      '--headless',
      '--duration',
      '30',
      // The viewer must stay at o5 for the counts below: a loaded host's stall is no reason to leave it here.
      '--stall-timeout',
      '20000',
    ]);
    stopClient = () => child.kill('SIGKILL');
    // Playing: the POP has the session and packets have reached it.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const st = await run.statusOrNull('o5');
      if ((st?.sessions?.[0]?.packets ?? 0) > 50) break;
      if (Date.now() > deadline) throw new Error(`o5 never played:\n${run.lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const name of run.topology.nodes.keys()) {
      const res = await fetch(`http://${run.address(name)}:${PORTS.status}/metrics`);
      expect(res.headers.get('content-type')).toContain('text/plain');
      texts.set(name, await res.text());
    }
  }, 30_000);
  afterAll(async () => {
    stopClient();
    await prometheus.stop();
  });

  it('every node serves text promtool accepts, labelled with its name and role', () => {
    expect([...texts.keys()].sort()).toEqual(['o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 's1', 's2']);
    for (const [name, text] of texts) {
      expect(promtoolProblems(text), name).toBe('');
      const role = run.topology.nodes.get(name)?.role ?? '';
      expect(sample(text, 'onode_uptime_seconds', { node: name, role }), name).toBeGreaterThanOrEqual(0);
    }
  });

  it('has a live link with a measured RTT for every neighbour of every node', async () => {
    for (const name of texts.keys()) {
      const neighbours = (await run.status(name)).neighbours ?? [];
      expect(neighbours.length, name).toBeGreaterThan(0);
      // A loaded host can hold a neighbour's hellos past the dead limit for a moment: scrape again then.
      let text = texts.get(name) ?? '';
      const allUp = (t: string): boolean =>
        neighbours.every((n) => sample(t, 'onode_link_up', { neighbour: n.name }) === 1);
      for (let tries = 0; !allUp(text) && tries < 25; tries++) {
        await new Promise((r) => setTimeout(r, 200));
        text = await metricsText(name);
      }
      for (const n of neighbours) {
        expect(sample(text, 'onode_link_up', { neighbour: n.name }), `${name}→${n.name}`).toBe(1);
        const rtt = sample(text, 'onode_link_rtt_seconds', { neighbour: n.name });
        expect(rtt, `${name}→${n.name}`).toBeGreaterThan(0);
        expect(rtt, `${name}→${n.name}`).toBeLessThan(1);
      }
    }
  });

  it('counts the movie along its tree, and the viewer’s session at the POP', async () => {
    const o5 = texts.get('o5') ?? '';
    expect(sample(o5, 'onode_stream_packets_in_total', { movie: MOVIE })).toBeGreaterThan(50);
    expect(sample(o5, 'onode_stream_local_viewers', { movie: MOVIE })).toBe(1);
    expect(sample(o5, 'onode_rtsp_session_packets_sent_total', { movie: MOVIE })).toBeGreaterThan(50);
    expect(sample(o5, 'onode_rtsp_sessions', {})).toBe(1);
    expect(sample(o5, 'onode_verify_packets_total', { result: 'verified' })).toBeGreaterThan(50);
    // Each node up the tree sent the movie on. The tree may switch to a better path meanwhile, so
    // the path and its nodes' metrics are read together, again until they agree (a few seconds at most).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const path = (await run.status('o5')).streams?.find((s) => s.movie === MOVIE)?.rootPath ?? [];
      const ups = path.filter((n) => n !== 'o5');
      const sent = await Promise.all(
        ups.map(async (up) => sample(await metricsText(up), 'onode_stream_packets_out_total', { movie: MOVIE }) ?? 0),
      );
      if (ups.length > 0 && sent.every((n) => n > 50)) break;
      if (Date.now() > deadline) expect({ path, sent }).toBe('every node up the tree sending the movie on');
      await new Promise((r) => setTimeout(r, 600));
    }
    const boot = texts.get(run.topology.bootstrapper) ?? '';
    expect(sample(boot, 'onode_bootstrapper_registered_nodes', {})).toBe(10);
    expect(sample(boot, 'onode_transport_dropped_datagrams_total', { reason: 'bad_mac' })).toBe(0);
  });

  it('a real Prometheus scraping the run finds every node up and the same values', async () => {
    const config = prometheusConfig(scrapeTargets(run.topology, PORTS.status), { intervalSec: 1 });
    await prometheus.start(config);
    await prometheus.until(
      async () => {
        const up = await prometheus.query('up{job="onode"}');
        return up.length === 10 && up.every((s) => s.value === 1);
      },
      20_000,
      'scraping every node',
    );
    const up = await prometheus.query('up{job="onode"}');
    expect(up.map((s) => s.metric.node).sort()).toEqual(['o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 's1', 's2']);
    expect(up.find((s) => s.metric.node === 'o5')?.metric.role).toBe('pop');
    const registered = await prometheus.query('onode_bootstrapper_registered_nodes');
    expect(registered.map((s) => [s.metric.node, s.value])).toEqual([[run.topology.bootstrapper, 10]]);
    // honor_labels: the node's own labels, not exported_node.
    const sent = await prometheus.query(`onode_rtsp_session_packets_sent_total{node="o5",movie="${MOVIE}"}`);
    expect(sent.length).toBe(1);
    expect(sent[0]?.value).toBeGreaterThan(50);
    const links = await prometheus.query('count(onode_link_up == 1)');
    const expected = (
      await Promise.all([...texts.keys()].map(async (n) => (await run.status(n)).neighbours?.length ?? 0))
    ).reduce((a, b) => a + b, 0);
    expect(links[0]?.value).toBe(expected);
  }, 40_000);
});
