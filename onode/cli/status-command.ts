/** `onode status ADDR [--json]`: fetch GET /status from a node and print it. */
import type { Command } from 'commander';
import { STATUS_PORT } from '../../common/net/ports.ts';
import { hostPort } from './options.ts';
import { parseStatusReport, type StatusReport } from '../../common/wire/status-api.ts';

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description("show a node's neighbours, routes and streams (GET /status)")
    .argument('<addr>', "the node's ADDRESS[:PORT]", hostPort(STATUS_PORT))
    .option('--json', 'print the raw JSON')
    .option('--timeout <ms>', 'give up after this long', (v) => Number(v), 3000)
    .action(async (target: { host: string; port: number }, flags: { json?: boolean; timeout: number }) => {
      const url = `http://${target.host}:${target.port}/status`;
      let text: string;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(flags.timeout) });
        text = await res.text();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        process.stderr.write(
          `error: cannot get ${url}: ${cause ?? (err as Error).message}; is an onode process running there?\n`,
        );
        process.exitCode = 1;
        return;
      }
      if (flags.json) {
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const report = parseStatusReport(json);
      if (!report.ok) {
        process.stderr.write(
          `error: ${url} did not answer with an onode status (${report.error}); is it an onode node of this version?\n`,
        );
        process.exitCode = 1;
        return;
      }
      process.stdout.write(formatStatus(report.value));
    });
}

export function formatStatus(s: StatusReport): string {
  const out: string[] = [
    `${s.name} (${s.role}), pid ${s.pid}${s.uptimeSec !== undefined ? `, up ${s.uptimeSec} s` : ''}`,
  ];
  if (s.clock) out.push(clockLine(s.clock));
  out.push('', 'neighbours:');
  for (const n of s.neighbours ?? [])
    out.push(
      `  ${pad(n.name, 8)} ${pad(n.address ?? '-', 15)} ${n.alive ? 'alive' : 'DEAD '} ` +
        `${n.rttMs === null ? '' : `rtt ${n.rttMs.toFixed(2)} ms`}`,
    );
  out.push('', 'routes (best per server):');
  for (const r of s.routes ?? [])
    out.push(`  ${pad(r.server, 8)} via ${pad(r.via, 8)} ${r.latencyMs.toFixed(2)} ms, ${r.hops} hop(s)`);
  out.push('', 'streams:');
  if ((s.streams ?? []).length === 0) out.push('  none');
  for (const t of s.streams ?? []) {
    out.push(
      `  ${t.movie}: from ${t.upstream ?? '(source)'} to [${t.downstream.join(', ')}]` +
        `${t.clients.length ? ` clients [${t.clients.join(', ')}]` : ''}; ${t.packetsIn} in, ${t.packetsOut} out`,
    );
  }
  if (s.catalogue) out.push('', `movies: ${s.catalogue.map((m) => m.name).join(', ') || 'none'}`);
  if (s.registered) out.push(`registered: ${s.registered.join(', ')}`);
  return `${out.join('\n')}\n`;
}

/** One line: how far this server's clock is from the reference, and how sure it is. */
function clockLine(c: NonNullable<StatusReport['clock']>): string {
  if (c.reference === 'self') return 'clock: the reference (bootstrapper)';
  if (!c.synced) return `clock: not synced yet (${c.samples} sample(s))`;
  const error = c.errorMs === null ? '?' : c.errorMs.toFixed(3);
  const offset = `${c.offsetMs >= 0 ? '+' : '-'} ${Math.abs(c.offsetMs).toFixed(3)} ms`;
  return `clock: the bootstrapper's = this host's ${offset}, ±${error} ms (${c.samples} samples)`;
}

function pad(s: string, n: number): string {
  return s.padEnd(n);
}
