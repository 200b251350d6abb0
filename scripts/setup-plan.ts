/**
 * What `npm run setup` installs, decided without I/O: given what `dpkg-query` and `command -v`
 * report, which Debian packages are missing and whether CORE must be built. scripts/setup.ts
 * gathers those reports, runs the plan and prints it.
 */

/** One Debian package the tests or runners use. */
export interface DebianPart {
  readonly package: string;
  /**
   * A command the package provides. When it is already on PATH the part counts as present even if
   * dpkg does not know the package (installed from source, as Mininet and ffmpeg often are), so
   * setup never lays a second copy over it. Packages without one (plugins) are judged by dpkg alone.
   */
  readonly command?: string;
  /** Who needs it, printed next to it. */
  readonly usedBy: string;
}

export const DEBIAN_PARTS: readonly DebianPart[] = [
  { package: 'ffmpeg', command: 'ffmpeg', usedBy: 'RTSP interop tests' },
  { package: 'gstreamer1.0-tools', command: 'gst-launch-1.0', usedBy: 'RTSP interop tests' },
  { package: 'gstreamer1.0-plugins-base', usedBy: 'RTSP interop tests' },
  { package: 'gstreamer1.0-plugins-good', usedBy: 'RTSP interop tests (rtspsrc, rtpjpegdepay)' },
  { package: 'tmux', command: 'tmux', usedBy: 'terminal player tests' },
  { package: 'mininet', command: 'mn', usedBy: 'onode mininet and its test' },
  { package: 'iproute2', command: 'ip', usedBy: 'Mininet test (namespaces, links)' },
  { package: 'procps', command: 'ps', usedBy: 'Mininet test (leftover processes)' },
  { package: 'chromium', command: 'chromium', usedBy: 'dashboard tests (headless browser)' },
  { package: 'prometheus', command: 'promtool', usedBy: 'metrics tests (promtool, a real scrape)' },
  { package: 'pyflakes3', command: 'pyflakes3', usedBy: 'CI lint of the Python files (.ci/run)' },
  // The reference server of `npm run bench:rtsp` (bench/rtsp/gst-rtsp-server.py).
  { package: 'python3-gi', usedBy: 'bench:rtsp reference server' },
  { package: 'gir1.2-gst-rtsp-server-1.0', usedBy: 'bench:rtsp reference server' },
  { package: 'gstreamer1.0-plugins-bad', usedBy: 'bench:rtsp reference server (jpegparse)' },
];

/** The command whose presence means CORE is installed (install-core.sh puts it in /usr/local/bin). */
export const CORE_COMMAND = 'core-daemon';

/** A CORE source found on disk: install-core.sh and the release tarball it builds. */
export interface CoreSource {
  readonly script: string;
  readonly tarball: string;
}

/** What the machine reports. */
export interface MachineReport {
  /** Packages dpkg has in state "install ok installed". */
  readonly installed: ReadonlySet<string>;
  /** Commands `command -v` finds. */
  readonly onPath: ReadonlySet<string>;
}

export interface PresentPart {
  readonly name: string;
  /** 'dpkg': the Debian package; 'path': the command, installed some other way. */
  readonly how: 'dpkg' | 'path';
}

export type CoreAction =
  | { readonly action: 'present' }
  | { readonly action: 'install'; readonly source: CoreSource }
  | { readonly action: 'no-source'; readonly searched: readonly string[] };

export interface SetupPlan {
  readonly present: readonly PresentPart[];
  /** Missing Debian packages, the project's first, then CORE's build dependencies; no duplicates. */
  readonly aptInstall: readonly string[];
  readonly core: CoreAction;
}

export interface PlanInput {
  readonly report: MachineReport;
  readonly parts?: readonly DebianPart[];
  /** CORE's source, or null when none of the searched folders has one. */
  readonly coreSource: CoreSource | null;
  /** Folders searched for CORE's source, for the message when there is none. */
  readonly coreSearched: readonly string[];
  /** Debian packages install-core.sh needs (see corePackagesFromScript); installed with ours. */
  readonly coreDependencies: readonly string[];
}

/** What to install: every part neither dpkg nor PATH has, and CORE when core-daemon is missing. */
export function planSetup(input: PlanInput): SetupPlan {
  const { report } = input;
  const present: PresentPart[] = [];
  const apt: string[] = [];
  for (const part of input.parts ?? DEBIAN_PARTS) {
    const onPath = part.command !== undefined && report.onPath.has(part.command);
    if (report.installed.has(part.package)) present.push({ name: part.package, how: 'dpkg' });
    else if (onPath) present.push({ name: part.package, how: 'path' });
    else apt.push(part.package);
  }
  let core: CoreAction;
  if (report.onPath.has(CORE_COMMAND)) {
    present.push({ name: 'CORE', how: 'path' });
    core = { action: 'present' };
  } else if (input.coreSource === null) {
    core = { action: 'no-source', searched: input.coreSearched };
  } else {
    core = { action: 'install', source: input.coreSource };
    // Installed in the same apt run as ours, so install-core.sh finds them and runs no apt itself.
    for (const p of input.coreDependencies) if (!report.installed.has(p) && !apt.includes(p)) apt.push(p);
  }
  return { present, aptInstall: apt, core };
}

export function nothingToDo(plan: SetupPlan): boolean {
  return plan.aptInstall.length === 0 && plan.core.action === 'present';
}

/**
 * Packages dpkg reports installed, from `dpkg-query -W -f '${Package}\t${Status}\n' P...`. A removed
 * package whose configuration files remain ("deinstall ok config-files") is not installed.
 */
export function parseDpkgQuery(out: string): Set<string> {
  const installed = new Set<string>();
  for (const line of out.split('\n')) {
    const [name, status] = line.split('\t');
    // Multi-arch packages print as name:arch.
    if (name && status?.trim() === 'install ok installed') installed.add(name.split(':')[0] ?? name);
  }
  return installed;
}

/**
 * The Debian packages install-core.sh installs, read from its BUILD_PKGS, RUNTIME_PKGS and PY_PKGS
 * assignments. When the script's layout changes this finds fewer, and the script installs the rest
 * itself (one more `apt-get update`), so a miss costs time, never correctness.
 */
export function corePackagesFromScript(script: string): string[] {
  const packages: string[] = [];
  for (const m of script.matchAll(/^(?:BUILD|RUNTIME|PY)_PKGS="([^"$`]*)"/gm)) {
    for (const p of (m[1] ?? '').split(/\s+/)) {
      if (/^[a-z0-9][a-z0-9+.-]*$/.test(p) && !packages.includes(p)) packages.push(p);
    }
  }
  return packages;
}

/** The newest `core-X.Y.Z.tar.gz` among a folder's file names, or null. */
export function pickCoreTarball(files: readonly string[]): string | null {
  const versions = files.flatMap((f) => {
    const m = /^core-(\d+)\.(\d+)\.(\d+)\.tar\.gz$/.exec(f);
    if (!m) return [];
    const v: readonly [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return [{ f, v }];
  });
  versions.sort((a, b) => b.v[0] - a.v[0] || b.v[1] - a.v[1] || b.v[2] - a.v[2]);
  return versions[0]?.f ?? null;
}

/** Quotes a word for sh when it needs it. */
function sh(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The commands a root shell would run for this plan: what to tell a user who is not root. */
export function manualCommands(plan: SetupPlan): string[] {
  const lines: string[] = [];
  if (plan.aptInstall.length > 0) {
    lines.push('apt-get update');
    const install = 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends';
    lines.push(`${install} ${plan.aptInstall.join(' ')}`);
  }
  if (plan.core.action === 'install') lines.push(`bash ${sh(plan.core.source.script)} ${sh(plan.core.source.tarball)}`);
  return lines;
}

/** The plan as lines for a person: what is there, what would be installed, and for whom. */
export function describePlan(plan: SetupPlan, parts: readonly DebianPart[] = DEBIAN_PARTS): string[] {
  const usedBy = new Map(parts.map((p) => [p.package, p.usedBy]));
  const row = (state: string, name: string, note: string): string =>
    `  ${state.padEnd(9)} ${name.padEnd(28)} ${note}`.trimEnd();
  const lines: string[] = [];
  for (const p of plan.present) {
    const note = `${usedBy.get(p.name) ?? ''}${p.how === 'path' ? " (on PATH, not dpkg's)" : ''}`;
    if (p.name === 'CORE') lines.push(row('present', p.name, `onode core and its test (${CORE_COMMAND} on PATH)`));
    else lines.push(row('present', p.name, note));
  }
  const ours = plan.aptInstall.filter((p) => usedBy.has(p));
  const coreDependencies = plan.aptInstall.filter((p) => !usedBy.has(p));
  for (const p of ours) lines.push(row('install', p, usedBy.get(p) ?? ''));
  if (coreDependencies.length > 0) lines.push(row('install', 'CORE build dependencies', coreDependencies.join(' ')));
  switch (plan.core.action) {
    case 'install':
      lines.push(row('install', 'CORE', `onode core and its test; from ${plan.core.source.tarball} (about 30 s)`));
      break;
    case 'no-source':
      lines.push(row('MISSING', 'CORE', `no core-daemon, and no CORE source in ${plan.core.searched.join(', ')}`));
      break;
    case 'present':
      break;
  }
  return lines;
}
