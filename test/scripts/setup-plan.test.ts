/** The decisions of `npm run setup`: given what dpkg and PATH report, what it installs. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  corePackagesFromScript,
  DEBIAN_PARTS,
  describePlan,
  manualCommands,
  nothingToDo,
  parseDpkgQuery,
  pickCoreTarball,
  planSetup,
  type PlanInput,
} from '../../scripts/setup-plan.ts';

const ALL_PACKAGES = DEBIAN_PARTS.map((p) => p.package);
const SOURCE = { script: '/w/shared/vendor/core/install-core.sh', tarball: '/w/shared/vendor/core/core-9.2.1.tar.gz' };
const SEARCHED = ['/w/shared/vendor/core', '/w/repo/vendor/core'];

function input(installed: readonly string[], onPath: readonly string[], extra: Partial<PlanInput> = {}): PlanInput {
  return {
    report: { installed: new Set(installed), onPath: new Set(onPath) },
    coreSource: SOURCE,
    coreSearched: SEARCHED,
    coreDependencies: ['libev-dev', 'python3-lxml', 'iproute2'],
    ...extra,
  };
}

describe('planSetup', () => {
  it('installs nothing when dpkg has every package and core-daemon is on PATH', () => {
    const plan = planSetup(input(ALL_PACKAGES, ['core-daemon']));
    expect(plan.aptInstall).toEqual([]);
    expect(plan.core).toEqual({ action: 'present' });
    expect(nothingToDo(plan)).toBe(true);
    expect(plan.present.map((p) => p.name)).toEqual([...ALL_PACKAGES, 'CORE']);
  });

  it("installs exactly the missing packages, in catalogue order, and none of CORE's when CORE is there", () => {
    const installed = ALL_PACKAGES.filter((p) => p !== 'chromium' && p !== 'prometheus' && p !== 'tmux');
    const plan = planSetup(input(installed, ['core-daemon']));
    expect(plan.aptInstall).toEqual(['tmux', 'chromium', 'prometheus']);
    expect(nothingToDo(plan)).toBe(false);
  });

  it('counts a package as present when its command is on PATH although dpkg does not know it', () => {
    const installed = ALL_PACKAGES.filter((p) => p !== 'mininet' && p !== 'ffmpeg');
    const plan = planSetup(input(installed, ['mn', 'ffmpeg', 'core-daemon']));
    expect(plan.aptInstall).toEqual([]);
    expect(plan.present).toContainEqual({ name: 'mininet', how: 'path' });
    expect(plan.present).toContainEqual({ name: 'ffmpeg', how: 'path' });
  });

  it('installs pyflakes3, the Python linter .ci/run calls, when it is missing', () => {
    const ci = readFileSync(fileURLToPath(new URL('../../.ci/run', import.meta.url)), 'utf8');
    expect(ci).toMatch(/^pyflakes3 /m);
    const plan = planSetup(
      input(
        ALL_PACKAGES.filter((p) => p !== 'pyflakes3'),
        ['core-daemon'],
      ),
    );
    expect(plan.aptInstall).toEqual(['pyflakes3']);
  });

  it('judges a package without a command by dpkg alone: gst-launch-1.0 on PATH does not bring the plugins', () => {
    const installed = ALL_PACKAGES.filter((p) => !p.startsWith('gstreamer1.0-'));
    const plan = planSetup(input(installed, ['gst-launch-1.0', 'core-daemon']));
    expect(plan.aptInstall).toEqual([
      'gstreamer1.0-plugins-base',
      'gstreamer1.0-plugins-good',
      'gstreamer1.0-plugins-bad',
    ]);
    expect(plan.present).toContainEqual({ name: 'gstreamer1.0-tools', how: 'path' });
  });

  it("on a bare machine installs every package, then CORE's missing dependencies once each, and CORE", () => {
    const plan = planSetup(input(['iproute2'], []));
    expect(plan.aptInstall).toEqual([...ALL_PACKAGES.filter((p) => p !== 'iproute2'), 'libev-dev', 'python3-lxml']);
    expect(new Set(plan.aptInstall).size).toBe(plan.aptInstall.length);
    expect(plan.core).toEqual({ action: 'install', source: SOURCE });
  });

  it("does not install CORE's dependencies for packages that are only on PATH", () => {
    // iproute2 is a CORE dependency: `ip` on PATH satisfies the project's part but CORE's list is dpkg's.
    const plan = planSetup(
      input(
        ALL_PACKAGES.filter((p) => p !== 'iproute2'),
        ['ip'],
      ),
    );
    expect(plan.aptInstall).toEqual(['libev-dev', 'python3-lxml', 'iproute2']);
  });

  it('reports the folders searched when core-daemon is missing and no source exists', () => {
    const plan = planSetup(input(ALL_PACKAGES, [], { coreSource: null, coreDependencies: [] }));
    expect(plan.core).toEqual({ action: 'no-source', searched: SEARCHED });
    expect(nothingToDo(plan)).toBe(false);
    expect(describePlan(plan).at(-1)).toMatch(/^ {2}MISSING +CORE +no core-daemon, and no CORE source in /);
    expect(describePlan(plan).at(-1)).toContain('/w/shared/vendor/core, /w/repo/vendor/core');
  });
});

describe('parseDpkgQuery', () => {
  it('keeps only packages in state "install ok installed"', () => {
    const out =
      'ffmpeg\tinstall ok installed\nprometheus\tdeinstall ok config-files\n' +
      'chromium\tunknown ok not-installed\ntmux\tinstall ok installed\n\n';
    expect([...parseDpkgQuery(out)]).toEqual(['ffmpeg', 'tmux']);
  });

  it('strips an architecture suffix and ignores malformed lines', () => {
    const out = 'libev-dev:amd64\tinstall ok installed\ngarbage\n\tinstall ok installed\n';
    expect([...parseDpkgQuery(out)]).toEqual(['libev-dev']);
  });
});

describe('corePackagesFromScript', () => {
  it('reads the three package lists of install-core.sh, multi-line, without duplicates', () => {
    const script = [
      'BUILD_PKGS="autoconf automake libtool pkg-config gcc make libev-dev',
      '  protobuf-compiler protobuf-compiler-grpc"',
      'RUNTIME_PKGS="python3 python3-venv iproute2 procps make"',
      'PY_PKGS="python3-grpcio python3-poetry-core"',
      'ALL_PKGS=$(echo $BUILD_PKGS $RUNTIME_PKGS $PY_PKGS)',
    ].join('\n');
    expect(corePackagesFromScript(script)).toEqual([
      'autoconf',
      'automake',
      'libtool',
      'pkg-config',
      'gcc',
      'make',
      'libev-dev',
      'protobuf-compiler',
      'protobuf-compiler-grpc',
      'python3',
      'python3-venv',
      'iproute2',
      'procps',
      'python3-grpcio',
      'python3-poetry-core',
    ]);
  });

  it('finds nothing in a script of another layout (the script then installs its own)', () => {
    expect(corePackagesFromScript('apt-get install -y $(cat deps.txt)\nPKGS="$OTHER"\n')).toEqual([]);
  });
});

describe('pickCoreTarball', () => {
  it('picks the newest release by version number, not by name', () => {
    const files = ['README.md', 'core-9.2.1.tar.gz', 'core-9.10.0.tar.gz', 'install-core.sh'];
    expect(pickCoreTarball(files)).toBe('core-9.10.0.tar.gz');
  });

  it('gives null when there is no release tarball', () => {
    expect(pickCoreTarball(['install-core.sh', 'core-latest.tar.gz'])).toBeNull();
  });
});

describe('manualCommands', () => {
  it("gives the root commands in order: update, one install, then CORE's build", () => {
    const plan = planSetup(
      input(
        ALL_PACKAGES.filter((p) => p !== 'chromium'),
        [],
      ),
    );
    expect(manualCommands(plan)).toEqual([
      'apt-get update',
      'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium libev-dev python3-lxml',
      'bash /w/shared/vendor/core/install-core.sh /w/shared/vendor/core/core-9.2.1.tar.gz',
    ]);
  });

  it('quotes paths with spaces for the shell and gives nothing to run when nothing is missing', () => {
    const source = { script: '/my dir/install-core.sh', tarball: "/my dir/it's.tar.gz" };
    const plan = planSetup(input(ALL_PACKAGES, [], { coreSource: source, coreDependencies: [] }));
    expect(manualCommands(plan)).toEqual([`bash '/my dir/install-core.sh' '/my dir/it'\\''s.tar.gz'`]);
    expect(manualCommands(planSetup(input(ALL_PACKAGES, ['core-daemon'])))).toEqual([]);
  });
});
