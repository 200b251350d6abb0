/**
 * Whether this kernel has netem, which CORE and Mininet use for link delay, loss and rate: tried
 * on the loopback of a throwaway network namespace (`unshare -n`, or `unshare -rn` without root),
 * so the machine's own interfaces are never touched. Then what a scenario does about it.
 */
import { spawnSync } from 'node:child_process';

/** true: netem works; false: the kernel lacks it; null: no namespace could be made to try. */
export type NetemProbe = boolean | null;

export function probeNetem(): NetemProbe {
  for (const unshare of [['-n'], ['-rn']]) {
    const r = spawnSync('unshare', [...unshare, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], {
      encoding: 'utf8',
      timeout: 5000,
    });
    if (r.status === 0) return true;
    // tc ran, and the kernel refused the qdisc: "Specified qdisc kind is unknown" or ENOENT.
    if (/qdisc kind is unknown|No such file or directory|Unknown qdisc/i.test(r.stderr ?? '')) return false;
  }
  return null;
}

export type NetemMode = 'auto' | 'on' | 'off';

export interface LinkEmulation {
  /** True: no link options in the scenario; the nodes apply delay and loss, tbf the rates. */
  readonly emulateLinks: boolean;
  /** One line for the user: who applies the links' delay, loss and rate, and why. */
  readonly says: string;
}

const BY_CORE = 'links: CORE applies delay, loss and rate with netem';
const BY_NODES = 'the nodes apply delay and loss themselves, and each start-up script limits rates with tbf';

/** Who emulates the links, from --netem (or --emulate-links, which is --netem off) and the probe. */
export function linkEmulation(mode: NetemMode, probe: () => NetemProbe): LinkEmulation {
  if (mode === 'on') return { emulateLinks: false, says: `${BY_CORE} (--netem on)` };
  if (mode === 'off') return { emulateLinks: true, says: `links: ${BY_NODES} (--netem off)` };
  const has = probe();
  if (has === true) return { emulateLinks: false, says: `${BY_CORE} (this kernel has netem)` };
  if (has === false)
    return {
      emulateLinks: true,
      says: `links: this kernel has no netem, so the scenario carries no link options: ${BY_NODES}`,
    };
  return {
    emulateLinks: true,
    says:
      `links: could not try netem here (no network namespace; run as root), so ${BY_NODES}; ` +
      'pass --netem on if the CORE machine has netem',
  };
}
