import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeIdentResponse, encodeIdentQuery } from "../../lib/wire/ident.ts";

const line = (text: string) => new TextEncoder().encode(text);

describe("RFC 1413 messages", () => {
  it("encodes a query and refuses ports out of range", () => {
    assert.equal(new TextDecoder().decode(encodeIdentQuery({ portOnServer: 1, portOnClient: 65535 })), "1, 65535\r\n");
    assert.throws(() => encodeIdentQuery({ portOnServer: 0, portOnClient: 1 }), { code: "bad-port" });
  });
  it("decodes USERID answers, keeping colons and inner blanks of the user id and dropping a charset", () => {
    const answer = decodeIdentResponse(line("45200,45411:USERID:UNIX:root\r\nrest"));
    assert.deepEqual(answer, {
      done: true,
      consumed: 30,
      value: { kind: "userid", portOnServer: 45200, portOnClient: 45411, opsys: "UNIX", user: "root" },
    });
    const odd = decodeIdentResponse(line("1 , 2 : USERID : OTHER , US-ASCII :  a:b c\n"));
    assert.ok(odd.done);
    assert.deepEqual(odd.value, { kind: "userid", portOnServer: 1, portOnClient: 2, opsys: "OTHER", user: "a:b c" });
  });
  it("decodes ERROR answers", () => {
    const answer = decodeIdentResponse(line("45200,45412:ERROR:NO-USER\r\n"));
    assert.ok(answer.done);
    assert.deepEqual(answer.value, { kind: "error", portOnServer: 45200, portOnClient: 45412, error: "NO-USER" });
  });
  it("asks for more until the line ends, and refuses malformed or endless lines", () => {
    assert.equal(decodeIdentResponse(line("1,2:USERID:UNIX:ro")).done, false);
    assert.throws(() => decodeIdentResponse(line("1,2:USERID\r\n")), { code: "bad-field" });
    assert.throws(() => decodeIdentResponse(line("x,2:USERID:UNIX:a\r\n")), { code: "bad-field" });
    assert.throws(() => decodeIdentResponse(line("1,2:WHO:UNIX:a\r\n")), { code: "bad-field" });
    assert.throws(() => decodeIdentResponse(line("1,2:USERID:UNIX:\r\n")), { code: "bad-field" });
    assert.throws(() => decodeIdentResponse(new Uint8Array(1000).fill(0x41)), { code: "too-long" });
  });
});

describe("RFC 1413 answers over the limit", () => {
  it("refuses a line longer than MAX_IDENT_RESPONSE even when its LF has arrived, as it does before", () => {
    // Found by tests/wire/parsers_fuzz_test.ts: the same bytes were refused when they came in two reads and decoded
    // (a 2,000-byte user id) when they came in one.
    const long = line(`1, 2 : USERID : UNIX : ${"u".repeat(2000)}\r\n`);
    assert.throws(() => decodeIdentResponse(long.subarray(0, 1500)), { code: "too-long" });
    assert.throws(() => decodeIdentResponse(long), { code: "too-long" });
  });
});
