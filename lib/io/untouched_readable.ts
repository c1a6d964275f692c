/**
 * A stream read from, made whole again: the bytes a reader took too far, then the rest, as a fresh stream that no
 * consumer sees as "disturbed".
 *
 * @module
 */

/**
 * A fresh byte stream that yields `leftover` first, then the rest of `readable`. The handshake has already read from
 * `readable`, and a stream that has been read from is "disturbed": `new Response(stream)` and other consumers
 * refuse it. Chunks pass through without a copy (each one read from `readable` is ours).
 */
export function untouchedReadable(
  leftover: Uint8Array,
  readable: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  let pending: Uint8Array | undefined = leftover.length > 0 ? leftover.slice() : undefined;
  // Locked at the first read, not before: until then `readable` stays free for an in-place TLS start.
  let locked: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const reader = () => locked ??= readable.getReader();
  return new ReadableStream({
    type: "bytes",
    async pull(controller: ReadableByteStreamController) {
      if (pending) {
        controller.enqueue(pending);
        pending = undefined;
        return;
      }
      const { done, value } = await reader().read();
      if (done) {
        controller.close();
        controller.byobRequest?.respond(0);
      } else controller.enqueue(value);
    },
    cancel: (reason) => reader().cancel(reason),
  });
}
