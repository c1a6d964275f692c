/**
 * The Worker the workerd tests run: it imports the package root exactly as a user's Worker does, and runs one client
 * call per HTTP request (POST / with a JSON {@link Op}), answering with JSON. Bundled by esbuild (--platform=neutral,
 * cloudflare:* and node:* external) and run in workerd without nodejs_compat (workerd.ts).
 */
import {
  bind,
  connect,
  createSocksFetch,
  defaultNetwork,
  resolve,
  resolvePtr,
  runtimeName,
  socksCause,
  SocksError,
  socksFetch,
} from "../../../mod.ts";
import type { Connection, Tunnel } from "../../../mod.ts";
// The TLS case needs the hop before it becomes a Tunnel: the raw connection under the SOCKS handshake.
import { throughChain } from "../../../lib/client/chain.ts";
import { Socks5Command } from "../../../lib/wire/constants.ts";
import { parseHostPort } from "../../../lib/wire/address.ts";

/** One client call and what it needs. */
type Op =
  | { op: "info" }
  | { op: "echo"; proxy: string | string[]; target: string; size: number; keepOpen?: boolean; passNames?: boolean }
  | { op: "fail"; proxy: string | string[]; target: string; timeoutMs?: number; abortAfterMs?: number }
  | { op: "abort-transfer"; proxy: string; target: string; size: number; abortAfter: number }
  | { op: "bind"; proxy: string }
  | { op: "resolve"; proxy: string; name: string }
  | { op: "resolve-ptr"; proxy: string; address: string }
  | { op: "tls"; proxy: string; target: string; serverName: string; path: string }
  | { op: "network"; call: "listen" | "bindUdp" | "resolve" | "reverse" }
  | FetchOp;

/**
 * One socksFetch (or, with `create`, a createSocksFetch call, then one more after close()): `bodySize` test bytes as
 * the body (their SHA-256 is answered as `sentSha256`); with `abortAfterChunks`, the body is read that far and the
 * signal aborted.
 */
interface FetchOp {
  op: "fetch";
  url: string;
  proxy?: string | string[];
  method?: string;
  bodySize?: number;
  redirect?: RequestRedirect;
  ca?: string;
  create?: boolean;
  abortAfterChunks?: number;
}

/** The byte at offset `i` of a test stream: not periodic at any power of two, so a slip shows. */
const byteAt = (i: number): number => (i * 31 + (i >>> 9)) & 0xff;

function errorJson(error: unknown): Record<string, unknown> {
  if (error instanceof SocksError) {
    return { error: "SocksError", code: error.code, reply: error.reply, hop: error.hop, message: error.message };
  }
  return { error: (error as Error)?.name ?? "unknown", message: String((error as Error)?.message ?? error) };
}

/**
 * Writes `size` test bytes, half-closes, reads to the end; compares byte for byte. With `keepOpen`, reads `size`
 * bytes before closing instead (microsocks ends both directions at the first FIN).
 */
async function echo(tunnel: Tunnel, size: number, keepOpen = false): Promise<{ received: number; exact: boolean }> {
  const writing = (async () => {
    const writer = tunnel.writable.getWriter();
    for (let offset = 0; offset < size; offset += 65536) {
      const chunk = new Uint8Array(Math.min(65536, size - offset));
      for (let i = 0; i < chunk.length; i++) chunk[i] = byteAt(offset + i);
      await writer.write(chunk);
    }
    if (!keepOpen) await writer.close();
  })();
  let received = 0;
  let exact = true;
  for await (const chunk of tunnel.readable) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== byteAt(received + i)) exact = false;
    received += chunk.length;
    if (keepOpen && received >= size) break;
  }
  await writing;
  tunnel.close();
  return { received, exact: exact && received === size };
}

async function run(op: Op): Promise<unknown> {
  switch (op.op) {
    case "info":
      return {
        runtime: runtimeName(),
        socksFetch: typeof socksFetch,
        network: typeof (await defaultNetwork()).connect,
      };
    case "echo": {
      // passNames: the documented way to reach a proxy by name, handing the name to workerd's connect().
      const resolve = op.passNames ? (name: string) => Promise.resolve([name]) : undefined;
      try {
        const tunnel = await connect(op.proxy, op.target, { timeoutMs: 10_000, resolve });
        return { bound: tunnel.bound, ...await echo(tunnel, op.size, op.keepOpen) };
      } catch (error) {
        return errorJson(error);
      }
    }
    case "fail": {
      const controller = new AbortController();
      if (op.abortAfterMs !== undefined) setTimeout(() => controller.abort(), op.abortAfterMs);
      try {
        const tunnel = await connect(op.proxy, op.target, { timeoutMs: op.timeoutMs, signal: controller.signal });
        tunnel.close();
        return { connected: true };
      } catch (error) {
        return errorJson(error);
      }
    }
    case "abort-transfer": {
      // The signal given to connect() still governs the tunnel it opened: aborting closes it mid-transfer.
      const controller = new AbortController();
      const tunnel = await connect(op.proxy, op.target, { signal: controller.signal, timeoutMs: 10_000 });
      const writer = tunnel.writable.getWriter();
      const writing = (async () => {
        for (let offset = 0; offset < op.size; offset += 16384) await writer.write(new Uint8Array(16384));
        await writer.close();
      })().then(() => "completed", (error) => `rejected: ${(error as Error)?.message ?? error}`);
      let received = 0;
      let ended = "eof";
      try {
        for await (const chunk of tunnel.readable) {
          received += chunk.length;
          if (received >= op.abortAfter && !controller.signal.aborted) controller.abort();
        }
      } catch (error) {
        ended = `error: ${(error as Error)?.message ?? error}`;
      }
      return { received, ended, writing: await writing, aborted: controller.signal.aborted };
    }
    case "bind":
      return "streamed";
    case "resolve":
      return { address: await resolve(op.proxy, op.name) };
    case "resolve-ptr":
      return { name: await resolvePtr(op.proxy, op.address) };
    case "tls":
      return await tls(op);
    case "fetch":
      return await fetchOp(op);
    case "network": {
      const network = await defaultNetwork();
      const where = { hostname: "127.0.0.1", port: 0 };
      try {
        if (op.call === "listen") await network.listen(where, () => {});
        else if (op.call === "bindUdp") await network.bindUdp(where, () => {});
        else if (op.call === "resolve") await network.resolve("localhost");
        else await network.reverse("127.0.0.1");
        return { ok: true };
      } catch (error) {
        return errorJson(error);
      }
    }
  }
}

/** The hex SHA-256 of `bytes`, with the Worker's WebCrypto. */
async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fetch's rejection: its name and message, and the SocksError in its cause chain. */
function fetchErrorJson(error: unknown): Record<string, unknown> {
  const cause = socksCause(error);
  return {
    error: (error as Error)?.name ?? "unknown",
    message: String((error as Error)?.message ?? error),
    ...(cause === undefined ? {} : { cause: errorJson(cause) }),
  };
}

async function fetchOp(op: FetchOp): Promise<unknown> {
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (op.bodySize !== undefined) {
    body = new Uint8Array(op.bodySize);
    for (let i = 0; i < body.length; i++) body[i] = byteAt(i);
  }
  const controller = new AbortController();
  const init: RequestInit = { method: op.method, body, redirect: op.redirect, signal: controller.signal };
  const settings = { proxy: op.proxy, ca: op.ca, timeoutMs: 10_000 };
  const created = op.create ? createSocksFetch(settings) : undefined;
  try {
    const response = created ? await created(op.url, init) : await socksFetch(op.url, { ...init, ...settings });
    const answer: Record<string, unknown> = {
      status: response.status,
      url: response.url,
      redirected: response.redirected,
      location: response.headers.get("location"),
      contentType: response.headers.get("content-type"),
      ...(body === undefined ? {} : { sentSha256: await sha256(body) }),
    };
    if (op.abortAfterChunks !== undefined) {
      const reader = response.body!.getReader();
      let chunks = 0;
      let text = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
          if (++chunks === op.abortAfterChunks) controller.abort();
        }
        return { ...answer, text, ended: "eof" };
      } catch (error) {
        return { ...answer, text, ended: (error as Error)?.name ?? String(error) };
      }
    }
    answer.text = await response.text();
    if (created !== undefined) {
      await created.close();
      answer.afterClose = await created(op.url).then(() => "fetched", fetchErrorJson);
    }
    return answer;
  } catch (error) {
    return fetchErrorJson(error);
  } finally {
    await created?.close();
  }
}

/** A GET over TLS to the destination, inside a SOCKS tunnel: startTls on the connection under the handshake. */
async function tls(op: Extract<Op, { op: "tls" }>): Promise<unknown> {
  const network = await defaultNetwork();
  const connection = await throughChain(op.proxy, { network, timeoutMs: 10_000 }, async (hop) => {
    await hop.request(Socks5Command.Connect, await hop.prepare(parseHostPort(op.target)));
    // A TLS server says nothing before the ClientHello: nothing can have been read past the reply.
    hop.writer.releaseLock();
    const { leftover } = hop.reader.release();
    if (leftover.length > 0) throw new Error(`${leftover.length} bytes past the reply`);
    return hop.connection;
  });
  try {
    const session = await (connection as Required<Connection>).startTls({ serverName: op.serverName });
    const writer = session.writable.getWriter();
    await writer.write(
      new TextEncoder().encode(`GET ${op.path} HTTP/1.1\r\nHost: ${op.serverName}\r\nConnection: close\r\n\r\n`),
    );
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of session.readable) text += decoder.decode(chunk, { stream: true });
    session.close();
    return { response: text };
  } catch (error) {
    connection.close();
    return errorJson(error);
  }
}

/** BIND, streamed: the first reply's address as one JSON line, then (once the peer came and left) what it sent. */
function bindStreamed(op: Extract<Op, { op: "bind" }>): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const line = (value: unknown) => writer.write(new TextEncoder().encode(JSON.stringify(value) + "\n"));
  (async () => {
    try {
      const binding = await bind(op.proxy, "0.0.0.0:0", { timeoutMs: 10_000 });
      await line({ bound: binding.bound });
      const tunnel = await binding.accepted;
      const got: number[] = [];
      for await (const chunk of tunnel.readable) got.push(...chunk);
      const back = tunnel.writable.getWriter();
      await back.write(new Uint8Array(got.toReversed()));
      await back.close();
      tunnel.close();
      await line({ peer: tunnel.bound, got });
    } catch (error) {
      await line(errorJson(error));
    } finally {
      await writer.close();
    }
  })();
  return new Response(readable, { headers: { "content-type": "application/x-ndjson" } });
}

export default {
  async fetch(request: Request): Promise<Response> {
    try {
      const op = await request.json() as Op;
      if (op.op === "bind") return bindStreamed(op);
      return Response.json(await run(op));
    } catch (error) {
      return Response.json({ thrown: errorJson(error) }, { status: 500 });
    }
  },
};
