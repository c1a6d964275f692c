import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeGssApiMessage, encodeGssApiMessage, MAX_GSSAPI_TOKEN } from "../../lib/wire/gssapi.ts";

describe("RFC 1961 message framing", () => {
  it("round-trips every message type, with tokens up to the 2-byte length", () => {
    for (const type of [1, 2, 3]) {
      for (const size of [0, 1, 255, 256, MAX_GSSAPI_TOKEN]) {
        const token = new Uint8Array(size).map((_, i) => i * 7);
        const bytes = encodeGssApiMessage({ type, token });
        assert.deepEqual([...bytes.subarray(0, 4)], [1, type, size >> 8, size & 0xff]);
        const decoded = decodeGssApiMessage(bytes);
        assert.ok(decoded.done);
        assert.equal(decoded.consumed, 4 + size);
        assert.equal(decoded.value.type, type);
        assert.deepEqual(decoded.value.token, token);
      }
    }
    assert.throws(() => encodeGssApiMessage({ type: 3, token: new Uint8Array(MAX_GSSAPI_TOKEN + 1) }), {
      code: "too-long",
    });
  });
  it("decodes the two-byte abort, asks for more bytes byte by byte, and refuses another version", () => {
    assert.deepEqual(decodeGssApiMessage(new Uint8Array([1, 0xff, 9])), {
      done: true,
      consumed: 2,
      value: { type: 0xff, token: new Uint8Array() },
    });
    const whole = encodeGssApiMessage({ type: 1, token: new Uint8Array([9, 8, 7]) });
    for (let n = 0; n < whole.length; n++) assert.equal(decodeGssApiMessage(whole.subarray(0, n)).done, false);
    assert.throws(() => decodeGssApiMessage(new Uint8Array([5, 1, 0, 0])), { code: "bad-version" });
  });
});
