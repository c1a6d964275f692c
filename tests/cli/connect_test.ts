// `tabi connect` at the edges: a tunnel cut by a reset, a proxy that drops a tunnel at the client's FIN
// (microsocks), and a reader that stops reading (`| head`).
import assert from "node:assert/strict";
import net from "node:net";
import { after, describe, it } from "node:test";
import { cliCommand, daemon, requireTool, run } from "../helpers/process.ts";
import { closedPort, waitForPort } from "../helpers/net.ts";
import { tcpServer as tcpServerOf } from "../helpers/tcp_server.ts";

/** A destination that keeps its half open after the client's FIN (as the tests of half-close need). */
const tcpServer = (behave: Parameters<typeof tcpServerOf>[0]) => tcpServerOf(behave, { allowHalfOpen: true });

const [command, prefix] = cliCommand();
const tabi = (args: string[], input?: Uint8Array) => run(command, [...prefix, ...args], { input, timeoutMs: 20_000 });
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * A SOCKS5 proxy that accepts any CONNECT, says it succeeded, sends `data`, then cuts the tunnel with a reset: the
 * client's view of a proxy or destination that dies mid-transfer.
 */
function resettingProxy(data: Uint8Array): Promise<{ port: number; close(): void }> {
  return tcpServer((socket) => {
    let seen = 0;
    socket.on("data", (chunk: Uint8Array) => {
      const before = seen;
      seen += chunk.length;
      // Greeting (3 bytes: 5, 1, 0), then the request (10 bytes for IPv4).
      if (before < 3 && seen >= 3) socket.write(new Uint8Array([5, 0]));
      if (before < 13 && seen >= 13) {
        socket.write(new Uint8Array([5, 0, 0, 1, 127, 0, 0, 1, 0, 1]));
        socket.write(data, () => setTimeout(() => socket.resetAndDestroy(), 50));
      }
    });
  });
}

/** A SOCKS5 proxy that connects every request to 127.0.0.1:`destinationPort` and relays, half-close included. */
function relayingProxy(destinationPort: number): Promise<{ port: number; close(): void }> {
  return tcpServer((socket) => {
    let seen = 0;
    socket.on("data", function onData(chunk: Uint8Array) {
      seen += chunk.length;
      if (seen === 3) socket.write(new Uint8Array([5, 0]));
      if (seen === 13) {
        socket.off("data", onData);
        const out = net.connect({ host: "127.0.0.1", port: destinationPort, allowHalfOpen: true }, () => {
          socket.write(new Uint8Array([5, 0, 0, 1, 127, 0, 0, 1, 0, 1]));
          out.pipe(socket);
          socket.pipe(out);
        });
        out.on("error", () => socket.destroy());
        socket.on("close", () => out.destroy());
      }
    });
  });
}

/**
 * A SOCKS5 proxy that relays to an echo destination and, once `after` bytes of the client's upload have passed, goes
 * away mid-upload: "close" closes the client's socket with unread bytes in it (the kernel answers with a reset, as
 * for a proxy that exits or is killed), "reset" resets it outright.
 */
function cuttingProxy(after: number, how: "close" | "reset"): Promise<{ port: number; close(): void }> {
  return tcpServer((socket) => {
    let seen = 0;
    let out: net.Socket | undefined;
    socket.on("data", (chunk: Uint8Array) => {
      const before = seen;
      seen += chunk.length;
      // Greeting (3 bytes: 5, 1, 0), then the request (10 bytes for IPv4).
      if (before < 3 && seen >= 3) socket.write(new Uint8Array([5, 0]));
      if (out === undefined && seen >= 13) {
        socket.write(new Uint8Array([5, 0, 0, 1, 127, 0, 0, 1, 0, 1]));
        // The destination echoes what it gets.
        out = net.connect({ host: "127.0.0.1", port: echo.port });
        out.on("data", (back: Uint8Array) => socket.write(back));
        out.on("error", () => socket.destroy());
        out.write(chunk.subarray(13 - before));
      } else if (out !== undefined && !socket.destroyed) {
        out.write(chunk);
        if (seen >= after) {
          out.destroy();
          if (how === "reset") socket.resetAndDestroy();
          else socket.destroy();
        }
      }
    });
  });
}

/** The echo destination of {@link cuttingProxy}. */
const echo = await tcpServerOf((socket) => socket.pipe(socket));

describe("tabi connect", () => {
  after(() => echo.close());

  it("a tunnel cut by a reset: the data that came, then exit 1 and ncat's message", async () => {
    const data = new TextEncoder().encode("partial download");
    const proxy = await resettingProxy(data);
    try {
      const result = await tabi(["connect", "--proxy", `socks5://127.0.0.1:${proxy.port}`, "127.0.0.1", "9"]);
      assert.equal(text(result.stdout), "partial download");
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^tabi connect: Connection reset by peer\n$/);
    } finally {
      proxy.close();
    }
  });

  it("a tunnel that ends normally: exit 0, nothing on stderr", async () => {
    const destination = await tcpServer((socket) => socket.end("all of it"));
    const proxy = await relayingProxy(destination.port);
    try {
      const result = await tabi(["connect", "--proxy", `socks5://127.0.0.1:${proxy.port}`, "127.0.0.1", "9"]);
      assert.equal(text(result.stdout), "all of it");
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
    } finally {
      proxy.close();
      destination.close();
    }
  });

  it("--no-shutdown through microsocks, which drops a tunnel at the client's FIN: the answer arrives", async () => {
    await requireTool("microsocks");
    // Answers a while after the question, as a server that thinks first would.
    const destination = await tcpServer((socket) => {
      socket.once("data", () => setTimeout(() => socket.end("the answer\n"), 300));
    });
    const port = await closedPort();
    const microsocks = daemon("microsocks", ["-i", "127.0.0.1", "-p", String(port)]);
    try {
      await waitForPort(port, "microsocks");
      const args = ["connect", "--proxy", `socks5://127.0.0.1:${port}`, "127.0.0.1", String(destination.port)];
      const question = new TextEncoder().encode("the question\n");
      const kept = await tabi([...args, "--no-shutdown"], question);
      assert.equal(text(kept.stdout), "the answer\n", kept.stderr);
      assert.equal(kept.code, 0);
      // Without it, stdin's end is a FIN and microsocks closes the tunnel before the answer: why the flag exists.
      const halfClosed = await tabi(args, question);
      assert.equal(text(halfClosed.stdout), "");
    } finally {
      await microsocks.stop();
      destination.close();
    }
  });

  it("stdout closed early (| head -c 10): ends quietly, exit 0, no stack trace", async () => {
    const destination = await tcpServer((socket) => {
      const chunk = new Uint8Array(64 * 1024).fill(0x61);
      const pump = () => {
        while (!socket.destroyed && socket.write(chunk));
        if (!socket.destroyed) socket.once("drain", pump);
      };
      pump();
    });
    const proxy = await relayingProxy(destination.port);
    try {
      const quoted = [command, ...prefix, "connect", "--proxy", `socks5://127.0.0.1:${proxy.port}`, "127.0.0.1"]
        .map((a) => `'${a}'`).join(" ");
      const script = `${quoted} ${destination.port} < /dev/null | head -c 10; echo "exit \${PIPESTATUS[0]}" >&2`;
      const result = await run("bash", ["-c", script]);
      assert.equal(text(result.stdout), "aaaaaaaaaa");
      assert.equal(result.stderr, "exit 0\n");
    } finally {
      proxy.close();
      destination.close();
    }
  });

  for (const how of ["close", "reset"] as const) {
    it(`the proxy goes away mid-upload (${how}, 32 MiB of stdin): exit 1 and ncat's message, every time`, async () => {
      const upload = new Uint8Array(32 * 1024 * 1024).fill(0x75);
      const proxy = await cuttingProxy(1024 * 1024, how);
      try {
        // Three tries: which call meets the reset (the upload's write or the download's read) is a race.
        for (let i = 0; i < 3; i++) {
          const result = await tabi(
            ["connect", "--proxy", `socks5://127.0.0.1:${proxy.port}`, "127.0.0.1", "9"],
            upload,
          );
          assert.ok(result.stdout.length < upload.length, `try ${i + 1}: all of it came back`);
          assert.equal(result.code, 1, `try ${i + 1}: ${result.stderr}`);
          assert.match(result.stderr, /^tabi connect: (Connection reset by peer|Broken pipe)\n$/, `try ${i + 1}`);
        }
      } finally {
        proxy.close();
      }
    });
  }

  it("an upload sent whole through a proxy that stays: all of it back, exit 0, nothing on stderr", async () => {
    const upload = new Uint8Array(4 * 1024 * 1024).fill(0x76);
    const proxy = await relayingProxy(echo.port);
    try {
      const result = await tabi(["connect", "--proxy", `socks5://127.0.0.1:${proxy.port}`, "127.0.0.1", "9"], upload);
      assert.equal(result.stderr, "");
      assert.equal(result.stdout.length, upload.length);
      assert.equal(result.code, 0);
    } finally {
      proxy.close();
    }
  });

  it("a proxy at an IPv6 address that refuses: the message names it as [::1]:port", async () => {
    const port = await closedPort();
    const result = await tabi(["connect", "--proxy", `socks5://[::1]:${port}`, "127.0.0.1", "9"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^tabi connect: connect \\[::1\\]:${port}: `), result.stderr);
  });
});
