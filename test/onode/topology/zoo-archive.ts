/** The Topology Zoo's GraphML files, read straight from the archive kept in topologies/zoo/. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const ZOO_ARCHIVE = join(import.meta.dirname, '../../../topologies/zoo/graphml.tar.gz');

/** Every .graphml file in the archive (a plain ustar reader: 512-byte headers, octal sizes). */
export function zooFiles(): Map<string, string> {
  const tar = gunzipSync(readFileSync(ZOO_ARCHIVE));
  const out = new Map<string, string>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (name === '') break;
    const size = Number.parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    if (name.endsWith('.graphml'))
      out.set(name.replace(/^.*\//, ''), tar.subarray(at + 512, at + 512 + size).toString('utf8'));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
