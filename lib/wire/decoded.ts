/**
 * The answer of every incremental decoder: a complete message and how many bytes it took, or how many more bytes
 * are needed at least. Malformed input is a thrown {@link SocksError}, never a third kind of result.
 *
 * @module
 */

/** A complete message decoded from the front of a buffer. Bytes after `consumed` belong to whatever follows. */
export interface Complete<T> {
  /** Always true: a message is complete. */
  readonly done: true;
  /** The decoded message. */
  readonly value: T;
  /** How many bytes from the front of the buffer the message took. */
  readonly consumed: number;
}

/** Not enough bytes yet: at least `needed` more must arrive before the decoder can answer. */
export interface NeedMore {
  /** Always false: the message is not complete yet. */
  readonly done: false;
  /** The least number of further bytes needed (more may be asked for then). */
  readonly needed: number;
}

/** The result of an incremental decoder. */
export type Decoded<T> = Complete<T> | NeedMore;

/** An incremental decoder: looks at a byte prefix and answers {@link Decoded}, or throws a SocksError. */
export type Decoder<T> = (bytes: Uint8Array) => Decoded<T>;

/**
 * Makes a {@link NeedMore} answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { needMore } from "./decoded.ts";
 * // A decoder for a 2-byte big-endian length: with one byte in, it asks for one more.
 * const decodeLength = (bytes: Uint8Array) => bytes.length < 2 ? needMore(2 - bytes.length) : undefined;
 * assert.deepEqual(decodeLength(new Uint8Array([0x01])), { done: false, needed: 1 });
 * ```
 */
export function needMore(needed: number): NeedMore {
  return { done: false, needed };
}

/**
 * Makes a {@link Complete} answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { complete } from "./decoded.ts";
 * // A whole 2-byte length decoded; the byte after it belongs to the next message.
 * const bytes = new Uint8Array([0x01, 0x00, 0xff]);
 * const answer = complete((bytes[0] << 8) | bytes[1], 2);
 * assert.deepEqual(answer, { done: true, value: 256, consumed: 2 });
 * ```
 */
export function complete<T>(value: T, consumed: number): Complete<T> {
  return { done: true, value, consumed };
}
