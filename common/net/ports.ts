/** Well-known ports; every one can be changed on the command line. */
export const BOOTSTRAP_PORT = 7000;
/** Overlay UDP: hellos, probes, tree control, data, and client pings to POPs. */
export const OVERLAY_PORT = 4444;
export const STATUS_PORT = 7080;
export const RTSP_PORT = 8554;

/** Splits "host[:port]" (IPv4 or name); the port defaults to `defaultPort`. */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | null {
  const m = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (m === null || m[1] === undefined) return null;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1], port };
}

/** Bootstrappers a --bootstrapper list may name (each costs every node a connection). */
export const MAX_BOOTSTRAPPERS = 16;

/**
 * Splits "host[:port],host[:port],..." (several bootstrappers, tried in order); null if any entry
 * is not host[:port], the list is empty or longer than MAX_BOOTSTRAPPERS, or names one twice.
 */
export function parseHostPorts(text: string, defaultPort: number): { host: string; port: number }[] | null {
  const parts = text.split(',');
  if (parts.length > MAX_BOOTSTRAPPERS) return null;
  const out: { host: string; port: number }[] = [];
  for (const part of parts) {
    const hp = parseHostPort(part, defaultPort);
    if (hp === null || out.some((o) => o.host === hp.host && o.port === hp.port)) return null;
    out.push(hp);
  }
  return out;
}

/** The bootstrapper's dashboard: its status port serves the page. */
export function dashboardUrl(bootstrapperAddress: string, statusPort = STATUS_PORT): string {
  return `http://${bootstrapperAddress}:${statusPort}/`;
}
