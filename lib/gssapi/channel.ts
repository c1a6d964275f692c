/**
 * RFC 1961 section 5 per-message protection as a byte-stream pair: every chunk written is sealed with gss_wrap and
 * sent as an encapsulated message (MTYP 3); every encapsulated message read is opened with gss_unwrap. The SOCKS
 * request and reply, and then the relayed data, go through it when a protection level was agreed. Shared by the
 * server and the client.
 *
 * @module
 */
import type { ByteSink } from "../io/byte_sink.ts";
import type { GssContext } from "./mechanism.ts";
import type { ByteReader } from "../io/byte_reader.ts";
import { decodeGssApiMessage, encodeGssApiMessage, GssApiMessageType, GssApiProtection } from "../wire/gssapi.ts";
import { SocksError } from "../wire/socks_error.ts";

/** The largest plaintext sealed into one message: the wrapped token must stay under RFC 1961's 65535 bytes. */
export const GSS_CHUNK = 32 * 1024;

/** A protected stream pair. */
export interface GssChannel {
  /** Plaintext from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Plaintext to the peer; closing it closes the raw writer (FIN). */
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * Builds the protected pair over a raw reader and writer, at an agreed level (1 integrity, 2 confidentiality, 3
 * selective: this side always encrypts). At level 2 a message that arrives unencrypted is refused. The context is
 * released when both directions are done.
 */
export function gssChannel(
  reader: ByteReader,
  writer: ByteSink,
  context: GssContext,
  level: number,
): GssChannel {
  const confidential = level !== GssApiProtection.Integrity;
  let ends = 0;
  const ended = () => {
    if (++ends === 2) context.release();
  };
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let message;
      try {
        message = await reader.read(decodeGssApiMessage);
      } catch (error) {
        ended();
        // The peer's FIN between two messages is the end of its data; inside one, a truncation.
        if (error instanceof SocksError && error.code === "closed" && reader.buffered === 0) return controller.close();
        return controller.error(error);
      }
      if (message.type !== GssApiMessageType.Encapsulated) {
        ended();
        const what = message.type === GssApiMessageType.Abort ? "an abort" : `message type ${message.type}`;
        return controller.error(new SocksError("closed", `GSS-API: the peer sent ${what} instead of data`));
      }
      try {
        const { data, confidential: sealed } = context.unwrap(message.token);
        if (level === GssApiProtection.Confidentiality && !sealed) {
          throw new SocksError("auth-failed", "GSS-API: an unencrypted message at protection level 2");
        }
        if (data.length > 0) controller.enqueue(data);
      } catch (error) {
        ended();
        controller.error(error);
      }
    },
    cancel() {
      ended();
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let at = 0; at < chunk.length; at += GSS_CHUNK) {
        const token = context.wrap(chunk.subarray(at, at + GSS_CHUNK), confidential);
        await writer.write(encodeGssApiMessage({ type: GssApiMessageType.Encapsulated, token }));
      }
    },
    async close() {
      ended();
      await writer.close();
    },
    async abort(reason) {
      ended();
      await writer.abort(reason);
    },
  });
  return { readable, writable };
}
