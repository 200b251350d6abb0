/** scripts/run.sh, the one way every emulator (and a person at a CORE node's shell) starts a role. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../../../onode/net/daemon-flags.ts';

const SCRIPT = fileURLToPath(new URL('../../../scripts/run.sh', import.meta.url));
// A fake repository whose "node" prints its arguments, so the script is tested without starting anything.
const repo = mkdtempSync(join(tmpdir(), 'run-sh-'));
mkdirSync(join(repo, 'scripts'));
mkdirSync(join(repo, 'dist/onode/cli'), { recursive: true });
mkdirSync(join(repo, 'dist/oclient/cli'), { recursive: true });
mkdirSync(join(repo, 'movies'));
cpSync(SCRIPT, join(repo, 'scripts/run.sh'));
writeFileSync(join(repo, 'dist/onode/cli/main.js'), '');
writeFileSync(join(repo, 'dist/oclient/cli/main.js'), '');
const fakeNode = join(repo, 'fake-node');
writeFileSync(fakeNode, '#!/bin/sh\necho "ARGS $*"\n');
chmodSync(fakeNode, 0o755);
const logs = join(repo, 'logs');
const secretFile = join(repo, 'overlay.secret');
writeFileSync(secretFile, 'a secret for the run script test\n', { mode: 0o600 });
afterAll(() => rmSync(repo, { recursive: true, force: true }));

function run(
  args: string[],
  env: Record<string, string> = {},
): { code: number; stderr: string; log: (name: string) => string } {
  const r = spawnSync('sh', [join(repo, 'scripts/run.sh'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ONODE_NODE: fakeNode, ONODE_LOG_DIR: logs, ...env },
  });
  return { code: r.status ?? -1, stderr: r.stderr, log: (name) => readFileSync(join(logs, `${name}.log`), 'utf8') };
}

describe('scripts/run.sh', () => {
  it('starts each role with its arguments, logging to LOG_DIR/NAME.log', () => {
    const boot = run(['server', '--topology', SCRIPT, '--name', 's1', '--emulate-links', '--secret', secretFile]);
    expect(boot.code).toBe(0);
    expect(boot.log('s1')).toContain(
      `ARGS ${DAEMON_NODE_FLAGS.join(' ')} ${repo}/dist/onode/cli/main.js server --topology ${SCRIPT} ` +
        `--emulate-links --movies ${repo}/movies --secret ${secretFile}`,
    );
    const pop = run(['pop', '--bootstrapper', '10.0.25.10', '--name', 'o5', '--secret', secretFile]);
    expect(pop.log('o5')).toContain(`main.js pop --bootstrapper 10.0.25.10 --secret ${secretFile}\n`);
    // Clients hold no overlay secret: one given is not passed on.
    const env = { ONODE_BOOTSTRAPPER: '10.0.25.10', ONODE_MOVIE: 'bars.mjpeg' };
    const client = run(['client', '--name', 'c1', '--duration', '5', '--secret', secretFile], env);
    expect(client.log('c1')).toContain(
      'oclient/cli/main.js --bootstrapper 10.0.25.10 --movie bars.mjpeg --headless --duration 5\n',
    );
  });

  it("starts servers, nodes and POPs with the daemons' Node.js options, clients without", () => {
    // The same list as onode/net/daemon-flags.ts, which the loopback emulator uses.
    expect(readFileSync(SCRIPT, 'utf8')).toContain(`DAEMON_FLAGS="${DAEMON_NODE_FLAGS.join(' ')}"`);
    const env = { ONODE_BOOTSTRAPPER: '10.0.25.10', ONODE_SECRET: 'a secret', ONODE_MOVIE: 'bars.mjpeg' };
    for (const role of ['server', 'node', 'pop']) {
      expect(run([role, '--name', `f-${role}`], env).log(`f-${role}`)).toContain(
        `ARGS ${DAEMON_NODE_FLAGS.join(' ')} ${repo}/dist/onode/cli/main.js ${role} --bootstrapper 10.0.25.10`,
      );
    }
    expect(run(['client', '--name', 'f-client'], env).log('f-client')).toContain(
      `ARGS ${repo}/dist/oclient/cli/main.js --bootstrapper`,
    );
    // ONODE_NODE_FLAGS replaces them; empty means none.
    const own = run(['node', '--name', 'f-own'], {
      ...env,
      ONODE_NODE_FLAGS: '--max-old-space-size=200 --v8-pool-size=1',
    });
    expect(own.log('f-own')).toContain(
      `ARGS --max-old-space-size=200 --v8-pool-size=1 ${repo}/dist/onode/cli/main.js node`,
    );
    const none = run(['node', '--name', 'f-none'], { ...env, ONODE_NODE_FLAGS: '' });
    expect(none.log('f-none')).toContain(`ARGS ${repo}/dist/onode/cli/main.js node`);
  });

  it('takes arguments over the environment', () => {
    const env = { ONODE_BOOTSTRAPPER: '10.9.9.9', ONODE_SECRET: 'from the environment' };
    const r = run(['node', '--bootstrapper', '10.0.0.1', '--name', 'n'], env);
    expect(r.log('n')).toContain('node --bootstrapper 10.0.0.1\n');
  });

  it('says clearly what is missing', () => {
    expect(run(['pop'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('pop needs --bootstrapper ADDR (or ONODE_BOOTSTRAPPER)'),
    });
    expect(run(['client', '--bootstrapper', '10.0.0.1']).stderr).toContain(
      'client needs --movie NAME (or ONODE_MOVIE)',
    );
    expect(run(['server']).stderr).toContain('server needs --topology FILE');
    expect(run(['relay']).stderr).toContain("unknown role 'relay'");
    expect(run(['node', '--bootstrapper']).stderr).toContain('--bootstrapper needs a value');
    expect(run(['node', '--bootstrapper', '10.0.0.1'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('node needs the overlay secret: --secret FILE (or ONODE_SECRET)'),
    });
    expect(run(['pop', '--bootstrapper', '10.0.0.1', '--secret', join(repo, 'missing')]).stderr).toContain(
      `cannot read the secret file '${join(repo, 'missing')}' (make one with: onode secret --out FILE)`,
    );
    expect(run([]).code).toBe(2);
  });

  it('returns at once with --background', () => {
    const args = ['node', '--bootstrapper', '10.0.0.1', '--name', 'bg', '--secret', secretFile, '--background'];
    const r = spawnSync('sh', [join(repo, 'scripts/run.sh'), ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ONODE_NODE: fakeNode, ONODE_LOG_DIR: logs },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^onode node started \(pid \d+\), log .*bg\.log\n$/);
  });
});
