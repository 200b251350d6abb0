/**
 * What a node name and a movie name may be, checked wherever one is decoded (overlay control
 * messages, the server's movie directory). A movie name becomes a file name, a map key, an RTSP
 * URL path and a line in a catalogue, so it must be one path segment that prints as itself.
 */

/** Node names: 1..64 bytes of UTF-8 (the overlay header's one-byte length; MAX_NAME_BYTES there). */
export const MAX_NODE_NAME_BYTES = 64;
/** Movie names: 1..255 bytes of UTF-8, the longest file name Linux allows. */
export const MAX_MOVIE_NAME_BYTES = 255;
/** What a topology may call a node (the bootstrapper only ever hands out those names). */
export const TOPOLOGY_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes as a name, or undefined when they are not valid UTF-8. Names are map keys: lenient
 * decoding would collapse distinct byte strings into one U+FFFD name.
 */
export function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** C0 and C1 controls, DEL, path separators, and lone surrogates (which have no UTF-8 form). */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\]|\p{Cs}/u;

/** Why `name` cannot be a movie name, or null when it can. */
export function movieNameProblem(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_MOVIE_NAME_BYTES) {
    return `the name is ${bytes} bytes long; at most ${MAX_MOVIE_NAME_BYTES} bytes of UTF-8`;
  }
  if (name === '.' || name === '..') return `'${name}' names a directory, not a movie`;
  const bad = FORBIDDEN.exec(name);
  if (bad !== null) {
    const ch = bad[0];
    const code = `U+${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0').toUpperCase()}`;
    if (ch === '/' || ch === '\\') return `the name contains '${ch}' (a path separator)`;
    if (/\p{Cs}/u.test(ch)) return `the name contains an unpaired surrogate (${code}), which has no UTF-8 form`;
    return `the name contains the control character ${code}`;
  }
  return null;
}

export function isMovieName(v: unknown): v is string {
  return typeof v === 'string' && movieNameProblem(v) === null;
}

export function isNodeName(v: unknown): v is string {
  if (typeof v !== 'string' || v.length === 0) return false;
  // ASCII (nearly every name, and every path a route carries): its length is its UTF-8 size.
  let ascii = v.length <= MAX_NODE_NAME_BYTES;
  for (let i = 0; i < v.length && ascii; i++) ascii = v.charCodeAt(i) < 0x80;
  if (ascii) return true;
  return Buffer.byteLength(v, 'utf8') <= MAX_NODE_NAME_BYTES && !/\p{Cs}/u.test(v);
}
