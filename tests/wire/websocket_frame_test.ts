/** The WebSocket frame codec (RFC 6455 section 5): client frames masked, heads decoded at every length form. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeWebSocketFrameHead, encodeWebSocketFrame, WebSocketOpcode } from "../../lib/wire/websocket_frame.ts";

describe("WebSocket frames", () => {
  it("a client frame decodes back to its head and, unmasked, its payload, at each length form", () => {
    for (const size of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const payload = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
      const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
      const frame = encodeWebSocketFrame(WebSocketOpcode.Binary, payload, key, size % 2 === 0);
      const decoded = decodeWebSocketFrameHead(frame);
      assert.ok(decoded.done, `a head for ${size} bytes`);
      const { value, consumed } = decoded;
      assert.equal(value.opcode, WebSocketOpcode.Binary);
      assert.equal(value.fin, size % 2 === 0);
      assert.equal(value.length, size);
      assert.deepEqual(value.mask, key);
      assert.equal(consumed, frame.length - size);
      const unmasked = frame.slice(consumed).map((byte, i) => byte ^ key[i & 3]);
      assert.deepEqual(unmasked, payload);
    }
  });

  it("asks for the bytes a head still lacks, one step at a time", () => {
    const frame = encodeWebSocketFrame(WebSocketOpcode.Text, new Uint8Array(300), new Uint8Array(4));
    assert.deepEqual(decodeWebSocketFrameHead(frame.subarray(0, 1)), { done: false, needed: 1 });
    assert.deepEqual(decodeWebSocketFrameHead(frame.subarray(0, 2)), { done: false, needed: 6 });
    assert.deepEqual(decodeWebSocketFrameHead(frame.subarray(0, 7)), { done: false, needed: 1 });
    assert.equal(decodeWebSocketFrameHead(frame.subarray(0, 8)).done, true);
  });

  it("an unmasked server frame with a 64-bit length; RSV bits without an extension are refused", () => {
    const head = new Uint8Array([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(decodeWebSocketFrameHead(head), {
      done: true,
      value: { fin: true, opcode: 2, mask: undefined, length: 65_536 },
      consumed: 10,
    });
    assert.throws(() => decodeWebSocketFrameHead(new Uint8Array([0xc1, 0x00])), { code: "bad-field" });
    assert.throws(() => decodeWebSocketFrameHead(new Uint8Array([0x82, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 0])), {
      code: "too-long",
    });
  });
});
