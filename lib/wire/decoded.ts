/**
 * The answer of every incremental decoder: a complete message and how many bytes it took, or how many more bytes
 * are needed at least. Malformed input is a thrown {@link SocksError}, never a third kind of result.
 *
 * @module
 */

/** A complete message decoded from the front of a buffer. Bytes after `consumed` belong to whatever follows. */
export interface Complete<T> {
  readonly done: true;
  readonly value: T;
  readonly consumed: number;
}

/** Not enough bytes yet: at least `needed` more must arrive before the decoder can answer. */
export interface NeedMore {
  readonly done: false;
  readonly needed: number;
}

/** The result of an incremental decoder. */
export type Decoded<T> = Complete<T> | NeedMore;

/** An incremental decoder: looks at a byte prefix and answers {@link Decoded}, or throws a SocksError. */
export type Decoder<T> = (bytes: Uint8Array) => Decoded<T>;

/** Makes a {@link NeedMore} answer. */
export function needMore(needed: number): NeedMore {
  return { done: false, needed };
}

/** Makes a {@link Complete} answer. */
export function complete<T>(value: T, consumed: number): Complete<T> {
  return { done: true, value, consumed };
}
