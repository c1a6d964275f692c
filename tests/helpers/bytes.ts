/** Test helpers for byte vectors written as hex. */
import { concatBytes } from "../../lib/io/concat_bytes.ts";

/** Parses "04 01 00 50" (spaces optional) into bytes. */
export function hexBytes(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  if (clean.length % 2 !== 0) throw new Error(`odd hex length: ${text}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Joins byte arrays (always a new array: tests may change it). */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0].slice() : concatBytes(parts);
}

/** Reads a stream to its end and joins what it yielded. */
export async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of readable) parts.push(chunk.slice());
  return concat(...parts);
}
