/**
 * A request's body as the tunnel fetch sends it: bytes with a Content-Length when the caller gave a body whose
 * size is known (a string, a buffer, a Blob, form data), the chunked coding (RFC 9112 section 7.1) when it gave a
 * stream, whose size nobody knows until it ends and which cannot be sent twice (a redirect that must replay it
 * fails, as in fetch).
 *
 * @module
 */
import { encodeChunk } from "../../wire/http_framing.ts";

/** A body to send: none, bytes (replayable), or a stream (sent once, chunked). */
export type RequestBody =
  | { readonly kind: "none" }
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  | { readonly kind: "stream"; readonly stream: ReadableStream<Uint8Array> };

/**
 * The body of `request`, built by `new Request(input, init)`: a stream when the caller's body was a stream (in
 * `init`, or a Request's own whose source is unknown here), bytes otherwise (read now: they are in memory anyway).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestBody } from "./request_body.ts";
 * const init = { method: "POST", body: "hi" };
 * const body = await requestBody(new Request("http://a/", init), "http://a/", init);
 * assert.equal(body.kind, "bytes");
 * ```
 */
export async function requestBody(
  request: Request,
  input: Request | URL | string,
  init: RequestInit | undefined,
): Promise<RequestBody> {
  if (request.body === null) return { kind: "none" };
  const given = init?.body ?? undefined;
  const streamed = given instanceof ReadableStream || (given === undefined && input instanceof Request);
  if (streamed) return { kind: "stream", stream: request.body };
  return { kind: "bytes", bytes: new Uint8Array(await request.arrayBuffer()) };
}

/** The framing headers a body asks for (none for a GET without a body). */
export function bodyHeaders(body: RequestBody, method: string): [string, string][] {
  if (body.kind === "stream") return [["Transfer-Encoding", "chunked"]];
  if (body.kind === "bytes") return [["Content-Length", String(body.bytes.length)]];
  // A method that carries a body sends an explicit empty one (RFC 9110 section 8.6), as fetch does.
  return ["POST", "PUT", "PATCH"].includes(method) ? [["Content-Length", "0"]] : [];
}

/** Writes `head` and then `body` to `writer`, chunk-encoding a stream; empty stream chunks are skipped (a zero-size chunk would end the body). */
export async function writeRequest(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  head: Uint8Array,
  body: RequestBody,
): Promise<void> {
  if (body.kind !== "stream") {
    const bytes = body.kind === "bytes" ? body.bytes : new Uint8Array(0);
    const whole = new Uint8Array(head.length + bytes.length);
    whole.set(head);
    whole.set(bytes, head.length);
    await writer.write(whole);
    return;
  }
  await writer.write(head);
  const reader = body.stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError("a request body stream must yield Uint8Array chunks");
      if (value.length > 0) await writer.write(encodeChunk(value));
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  }
  await writer.write(encodeChunk(new Uint8Array(0)));
}
