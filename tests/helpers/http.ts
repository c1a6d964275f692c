/** HTTP test helpers: a raw proxy client that reads responses by hand, and origins (node:http, scripted). */
import http from "node:http";
import type { Endpoint, Listener } from "../../lib/net/network.ts";
import { network, type RawClient, rawClient } from "./net.ts";

const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);
export const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** A response as the test read it. */
export interface TestResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

/** Reads one response (head by hand; body by Content-Length, chunked, or to the end); `head` for HEAD requests. */
export async function readResponse(client: RawClient, noBody = false): Promise<TestResponse> {
  // noBody only holds for a success: an error answer to CONNECT has its body.
  let text = "";
  while (!text.endsWith("\r\n\r\n")) text += String.fromCharCode(await client.reader.readByte());
  const [start, ...lines] = text.slice(0, -4).split("\r\n");
  const status = Number(start.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  if ((noBody && status < 300) || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { status, headers, body: new Uint8Array() };
  }
  if (headers["content-length"] !== undefined) {
    return { status, headers, body: await client.reader.readExactly(Number(headers["content-length"])) };
  }
  if (headers["transfer-encoding"] === "chunked") {
    const parts: Uint8Array[] = [];
    for (;;) {
      let line = "";
      while (!line.endsWith("\r\n")) line += String.fromCharCode(await client.reader.readByte());
      const size = parseInt(line, 16);
      if (size === 0) {
        await client.reader.readExactly(2);
        break;
      }
      parts.push(await client.reader.readExactly(size));
      await client.reader.readExactly(2);
    }
    return { status, headers, body: join(parts) };
  }
  return { status, headers, body: await client.readToEnd() };
}

export function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sends `request` (text, Latin-1) on a fresh connection to the proxy and reads the response. */
export async function ask(proxy: Endpoint, request: string): Promise<TestResponse & { client: RawClient }> {
  const client = await rawClient(proxy);
  await client.send(ascii(request));
  // A 2xx answer to CONNECT has no body: the tunnel starts right after its head.
  return { ...await readResponse(client, request.startsWith("CONNECT ")), client };
}

/** A position-weighted checksum, so reordered bytes do not pass. */
export function checksum(bytes: Uint8Array, seed = 0): number {
  let sum = seed;
  for (let i = 0; i < bytes.length; i++) sum = (sum * 31 + bytes[i]) >>> 0;
  return sum;
}

/**
 * A node:http origin: `/echo` answers JSON with what arrived (method, url, headers, body length and checksum);
 * `/bytes?n=N` answers N payload bytes with a Content-Length; `/stream?n=N` writes them in pieces with no length.
 */
export function httpOrigin(
  hostname = "127.0.0.1",
  payloadOf: (n: number) => Uint8Array,
): Promise<{ port: number; requests: number; close(): void }> {
  const state = { requests: 0 };
  const server = http.createServer((request, response) => {
    state.requests++;
    const url = new URL(request.url ?? "/", "http://x");
    const parts: Uint8Array[] = [];
    request.on("data", (chunk: Uint8Array) => parts.push(new Uint8Array(chunk)));
    request.on("end", () => {
      if (url.pathname === "/bytes" || url.pathname === "/stream") {
        const body = payloadOf(Number(url.searchParams.get("n")));
        if (url.pathname === "/bytes") {
          response.writeHead(200, { "content-length": body.length });
          response.end(body);
          return;
        }
        response.writeHead(200, { "content-type": "application/octet-stream" });
        for (let i = 0; i < body.length; i += 10_000) response.write(body.subarray(i, i + 10_000));
        response.end();
        return;
      }
      const body = join(parts);
      response.writeHead(200, { "content-type": "application/json", "x-origin": "yes", "connection": "x-hop" });
      response.end(JSON.stringify({
        method: request.method,
        url: request.url,
        headers: request.headers,
        httpVersion: request.httpVersion,
        length: body.length,
        sum: checksum(body),
      }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, hostname, () => {
      const address = server.address() as { port: number };
      resolve(Object.assign(state, {
        port: address.port,
        close: () => {
          server.closeAllConnections?.();
          server.close();
        },
      }));
    });
  });
}

/**
 * A scripted origin: reads one request head, hands it to `answer`, which writes whatever it likes (malformed
 * answers included) on the writer; the connection closes when `answer` resolves.
 */
export async function scriptedOrigin(
  answer: (head: string, client: RawClient) => Promise<void>,
): Promise<Listener & { heads: string[] }> {
  const heads: string[] = [];
  const listener = await network.listen({ hostname: "127.0.0.1", port: 0 }, async (connection) => {
    const { ByteReader } = await import("../../lib/io/byte_reader.ts");
    const reader = new ByteReader(connection.readable);
    const writer = connection.writable.getWriter();
    const client: RawClient = {
      connection,
      reader,
      writer,
      send: (bytes) => writer.write(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)),
      readToEnd: () => Promise.resolve(new Uint8Array()),
      close: () => connection.close(),
    };
    try {
      let text = "";
      while (!text.endsWith("\r\n\r\n")) text += latin1(await reader.readExactly(1));
      heads.push(text);
      await answer(text, client);
      await writer.close();
    } catch {
      // The proxy went away: nothing to answer.
    } finally {
      connection.close();
    }
  });
  return Object.assign(listener, { heads });
}
