/** The GraphML files of a .tar.gz archive (as the Topology Zoo ships): a plain ustar reader, no extraction. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Every .graphml file in the archive, by file name (without its folder). */
export function graphmlFiles(archive: string): Map<string, string> {
  const tar = gunzipSync(readFileSync(archive));
  const out = new Map<string, string>();
  const field = (at: number, length: number) =>
    tar
      .subarray(at, at + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  // 512-byte headers: the name in the first 100 bytes, the size in octal at 124.
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = field(at, 100);
    if (name === '') break;
    const size = Number.parseInt(field(at + 124, 12).trim() || '0', 8);
    if (name.endsWith('.graphml')) {
      out.set(name.replace(/^.*\//, ''), tar.subarray(at + 512, at + 512 + size).toString('utf8'));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
