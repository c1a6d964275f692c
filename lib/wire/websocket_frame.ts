/**
 * WebSocket frames (RFC 6455 section 5), sans I/O: the numbers of the protocol, a client frame's encoding (always
 * masked, section 5.3) and a frame head's decoding. tabi's own WebSocket client (lib/fetch/websocket) is the only
 * user: it runs where the runtime's WebSocket cannot be pointed at a proxy without a DNS leak (Deno).
 *
 * @module
 */
import { complete, type Decoded, type Decoder, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** Frame opcodes (RFC 6455 section 5.2). */
export const WebSocketOpcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** Close codes this client sends or reports (RFC 6455 section 7.4.1). */
export const WebSocketClose = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidData: 1007,
  TooBig: 1009,
} as const;

/** The GUID a server appends to the key for Sec-WebSocket-Accept (RFC 6455 section 1.3). */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Longest payload of a control frame (RFC 6455 section 5.5); a close reason gets 2 bytes less. */
export const CONTROL_PAYLOAD_LIMIT = 125;

/** Bits of the first two head bytes (RFC 6455 section 5.2). */
const BITS = { fin: 0x80, rsv: 0x70, opcode: 0x0f, mask: 0x80, length: 0x7f } as const;

/** Payload-length markers: 126 means a 16-bit length follows, 127 a 64-bit one (RFC 6455 section 5.2). */
const LENGTH = { u16: 126, u64: 127 } as const;

/** A frame head as read. */
export interface WebSocketFrameHead {
  /** The final fragment of a message. */
  readonly fin: boolean;
  /** One of {@link WebSocketOpcode}. */
  readonly opcode: number;
  /** The masking key, when the sender masked (a server must not: RFC 6455 section 5.1). */
  readonly mask: Uint8Array | undefined;
  /** The payload's length in bytes. */
  readonly length: number;
}

/**
 * Encodes one client frame, masked with `maskKey` (4 random bytes; RFC 6455 section 5.3).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeWebSocketFrame, WebSocketOpcode } from "./websocket_frame.ts";
 * const frame = encodeWebSocketFrame(WebSocketOpcode.Text, new Uint8Array([0x48, 0x69]), new Uint8Array(4));
 * assert.deepEqual([...frame], [0x81, 0x82, 0, 0, 0, 0, 0x48, 0x69]);
 * ```
 */
export function encodeWebSocketFrame(
  opcode: number,
  payload: Uint8Array,
  maskKey: Uint8Array,
  fin: boolean = true,
): Uint8Array {
  const n = payload.length;
  const extra = n < LENGTH.u16 ? 0 : n <= 0xffff ? 2 : 8;
  const frame = new Uint8Array(2 + extra + 4 + n);
  frame[0] = (fin ? BITS.fin : 0) | opcode;
  const view = new DataView(frame.buffer);
  if (extra === 0) frame[1] = BITS.mask | n;
  else if (extra === 2) {
    frame[1] = BITS.mask | LENGTH.u16;
    view.setUint16(2, n);
  } else {
    frame[1] = BITS.mask | LENGTH.u64;
    view.setBigUint64(2, BigInt(n));
  }
  const at = 2 + extra;
  frame.set(maskKey, at);
  for (let i = 0; i < n; i++) frame[at + 4 + i] = payload[i] ^ maskKey[i & 3];
  return frame;
}

/**
 * Decodes a frame head (up to the payload), or says how many bytes it still needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeWebSocketFrameHead } from "./websocket_frame.ts";
 * const decoded = decodeWebSocketFrameHead(new Uint8Array([0x82, 0x7e, 0x01, 0x00]));
 * assert.deepEqual(decoded, { done: true, value: { fin: true, opcode: 2, mask: undefined, length: 256 }, consumed: 4 });
 * ```
 */
export function decodeWebSocketFrameHead(bytes: Uint8Array): Decoded<WebSocketFrameHead> {
  if (bytes.length < 2) return needMore(2 - bytes.length);
  if ((bytes[0] & BITS.rsv) !== 0) {
    throw new SocksError("bad-field", "a WebSocket frame with RSV bits set, and no extension was agreed");
  }
  const masked = (bytes[1] & BITS.mask) !== 0;
  const marker = bytes[1] & BITS.length;
  const extra = marker === LENGTH.u16 ? 2 : marker === LENGTH.u64 ? 8 : 0;
  const size = 2 + extra + (masked ? 4 : 0);
  if (bytes.length < size) return needMore(size - bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let length = marker;
  if (extra === 2) length = view.getUint16(2);
  else if (extra === 8) {
    const big = view.getBigUint64(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new SocksError("too-long", "a WebSocket frame of 2^53 bytes or more");
    }
    length = Number(big);
  }
  const mask = masked ? bytes.slice(2 + extra, size) : undefined;
  return complete({ fin: (bytes[0] & BITS.fin) !== 0, opcode: bytes[0] & BITS.opcode, mask, length }, size);
}

/** {@link decodeWebSocketFrameHead} as a Decoder for the byte reader. */
export function webSocketFrameHeadDecoder(): Decoder<WebSocketFrameHead> {
  return decodeWebSocketFrameHead;
}
