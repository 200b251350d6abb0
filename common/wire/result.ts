/** What every decoder returns: a value, or why the input was refused. Decoders never throw. */
export type Decoded<T, R extends string = DecodeFailure> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: R };

export type DecodeFailure = 'truncated' | 'malformed' | 'unsupported' | 'oversize';

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function fail<R extends string>(reason: R): { readonly ok: false; readonly reason: R } {
  return { ok: false, reason };
}
