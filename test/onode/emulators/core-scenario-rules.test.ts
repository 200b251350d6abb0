/**
 * What `onode core` decides before writing a scenario: who emulates the links, which movies the
 * servers and clients have; and that CORE's own Mako renders every start-up script unchanged.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { scenarioMovies } from '../../../onode/cli/core-command.ts';
import { loadTopologyFile } from '../../../onode/config/topology.ts';
import { coreScenarioXml } from '../../../onode/emulators/core-xml.ts';
import { linkEmulation } from '../../../onode/emulators/netem-probe.ts';
import { skippedTitle } from '../../capabilities.ts';
import { child, parseXml } from './xml-tree.ts';

const REPORT = fileURLToPath(new URL('../../../topologies/report.json5', import.meta.url));
const ONODE = fileURLToPath(new URL('../../../onode/cli/main.ts', import.meta.url));

describe('who emulates the links', () => {
  const never = () => {
    throw new Error('probed although the mode was given');
  };

  it('follows --netem on and off without probing', () => {
    expect(linkEmulation('on', never).emulateLinks).toBe(false);
    expect(linkEmulation('off', never)).toMatchObject({ emulateLinks: true, says: expect.stringContaining('tbf') });
  });

  it('asks the kernel in auto mode, and says what it found', () => {
    expect(linkEmulation('auto', () => true)).toEqual({
      emulateLinks: false,
      says: 'links: CORE applies delay, loss and rate with netem (this kernel has netem)',
    });
    expect(linkEmulation('auto', () => false).says).toMatch(/^links: this kernel has no netem, so the scenario/);
    // Unknown: the scenario that loads everywhere, and how to get the other one.
    const unknown = linkEmulation('auto', () => null);
    expect(unknown.emulateLinks).toBe(true);
    expect(unknown.says).toContain('--netem on');
  });
});

describe('the movies of a scenario', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const topo = loadTopologyFile(REPORT);

  it('are every movie of the folder, or the ones asked for', () => {
    dir = mkdtempSync(join(tmpdir(), 'core-movies-'));
    for (const f of ['b.mjpeg', 'a.mjpeg', 'notes.txt']) writeFileSync(join(dir, f), '');
    expect(scenarioMovies(topo, dir, undefined)).toEqual(['a.mjpeg', 'b.mjpeg']);
    expect(scenarioMovies(topo, dir, ['b.mjpeg'])).toEqual(['b.mjpeg']);
  });

  it('refuse a missing or empty folder, and a movie it lacks, saying how to fix it', () => {
    dir = mkdtempSync(join(tmpdir(), 'core-movies-'));
    expect(() => scenarioMovies(topo, join(dir, 'none'), undefined)).toThrow(/no movies folder .*npm run movies/);
    expect(() => scenarioMovies(topo, dir, undefined)).toThrow(/no movies \(\*\.mjpeg\) in/);
    writeFileSync(join(dir, 'a.mjpeg'), '');
    expect(() => scenarioMovies(topo, dir, ['z.mjpeg'])).toThrow('--movie z.mjpeg: not in');
  });
});

describe('onode core on the command line', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const onode = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', ONODE, 'core', ...args], { encoding: 'utf8', timeout: 30_000 });

  it('says CORE 9 needs XML when asked for .imn', () => {
    dir = mkdtempSync(join(tmpdir(), 'core-cli-'));
    const r = onode(REPORT, '--imn');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('CORE 9 reads XML only');
    expect(r.stdout).toBe('');
  });

  it('stops with a message when the movies folder is missing', () => {
    dir = mkdtempSync(join(tmpdir(), 'core-cli-'));
    const r = onode(REPORT, '--movies', join(dir, 'nowhere'), '--log-dir', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no movies folder ${join(dir, 'nowhere')}`);
    expect(r.stdout).toBe('');
  });
});

const CORE_PYTHON = '/opt/core/venv/bin/python';
const noCore = existsSync(CORE_PYTHON) ? null : `no ${CORE_PYTHON} (CORE is not installed; npm run setup installs it)`;

describe.skipIf(noCore !== null)(skippedTitle("CORE's Mako", noCore), () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('renders every start-up template to the script itself, whatever the paths hold', () => {
    dir = mkdtempSync(join(tmpdir(), 'core-mako-'));
    const topo = loadTopologyFile(REPORT);
    // Mako syntax in every path: ${...}, <% %>, ## and %% would all mean something to it.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Mako syntax, on purpose
    const root = '/opt/${x} <%y%> ##z %%w';
    const scenario = parseXml(
      coreScenarioXml(topo, {
        root,
        file: `${root}/topologies/report.json5`,
        moviesDir: `${root}/movies`,
        movies: ['bars.mjpeg'],
        secretFile: `${root}/secret`,
        logDir: `${root}/logs`,
      }),
    );
    const templates = child(scenario, 'service_configurations').children.map(
      (s) => child(child(s, 'templates'), 'template').text,
    );
    mkdirSync(join(dir, 't'));
    for (const [i, t] of templates.entries()) writeFileSync(join(dir, 't', `${i}`), t);
    // CORE's own rendering call: Template(text).render_unicode(...) (core/services/base.py).
    const program = [
      'import os, sys',
      'from mako.template import Template',
      'd = sys.argv[1]',
      'for f in sorted(os.listdir(d), key=int):',
      '    open(os.path.join(d, f + ".out"), "w").write(Template(open(os.path.join(d, f)).read()).render_unicode())',
    ].join('\n');
    const r = spawnSync(CORE_PYTHON, ['-c', program, join(dir, 't')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    templates.forEach((t, i) => {
      const rendered = readFileSync(join(dir, 't', `${i}.out`), 'utf8');
      expect(`<%text>${rendered}</%text>`).toBe(t);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Mako syntax, on purpose
      expect(rendered).toContain('/opt/${x} <%y%> ##z %%w');
    });
  });
});
