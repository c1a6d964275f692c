// How `tabi connect` words a cut tunnel: strerror's words, the same under every runtime's error shapes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { tunnelFailure } from "../../cli/tunnel_failure.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });
const named = (name: string, message: string) => Object.assign(new Error(message), { name });

describe("tunnelFailure", () => {
  it("Node's write EPIPE, handed to the reading side as 'read: write EPIPE', is Broken pipe", () => {
    const error = new SocksError("closed", "read: write EPIPE", { cause: errno("EPIPE", "write EPIPE") });
    assert.equal(tunnelFailure(error, "download"), "Broken pipe");
    assert.equal(tunnelFailure(error, "upload"), "Broken pipe");
  });

  it("a reset is Connection reset by peer, by errno (Node, Bun), by class name (Deno) or by code", () => {
    const node = new SocksError("reset", "read: read ECONNRESET", { cause: errno("ECONNRESET", "read ECONNRESET") });
    const deno = new SocksError("reset", "write: Connection reset by peer (os error 104)", {
      cause: named("ConnectionReset", "Connection reset by peer (os error 104)"),
    });
    for (const error of [node, deno, new SocksError("reset", "connection reset")]) {
      assert.equal(tunnelFailure(error, "download"), "Connection reset by peer");
    }
  });

  it("an upload that found the tunnel gone with no errno (Bun's write returning -1) is Broken pipe", () => {
    assert.equal(tunnelFailure(new SocksError("closed", "write: connection closed"), "upload"), "Broken pipe");
  });

  it("a download failure without errno keeps its own message", () => {
    assert.equal(tunnelFailure(new SocksError("failed", "proxy said no"), "download"), "proxy said no");
  });
});
