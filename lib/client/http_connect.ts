/**
 * The client side of HTTP CONNECT (RFC 9110 section 9.3.6): an HTTP proxy as a hop of a chain. The tunnel exists
 * once a 2xx answer arrived; a failure status becomes a SocksError with a code like a SOCKS reply's.
 *
 * @module
 */
import type { ByteReader } from "../io/byte_reader.ts";
import { formatHostPort, type HostPort } from "../wire/address.ts";
import { encodeHttpHead, type HttpHeader, httpResponseHeadDecoder } from "../wire/http_head.ts";
import { SocksError, type SocksErrorCode } from "../wire/socks_error.ts";
import type { ProxySpec } from "./proxy_url.ts";

const CODE_BY_STATUS: Readonly<Record<number, SocksErrorCode>> = {
  403: "not-allowed",
  407: "auth-failed",
  502: "host-unreachable",
  503: "host-unreachable",
  504: "timeout",
};

/** The `Proxy-Authorization` value for a proxy's `user:pass@`, Basic (RFC 7617), UTF-8. */
export function basicCredentials(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * Asks an HTTP proxy to CONNECT to `destination` and reads its answer; throws unless it is 2xx.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "../io/byte_reader.ts";
 * import { httpConnect } from "./http_connect.ts";
 * const sent: string[] = [];
 * const writer = new WritableStream<Uint8Array>({ write: (c) => void sent.push(new TextDecoder().decode(c)) })
 *   .getWriter();
 * const answer = new TextEncoder().encode("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
 * const reader = new ByteReader(ReadableStream.from([answer]));
 * const proxy = { version: "http" as const, remoteDns: true, address: { type: "ipv4" as const, host: "127.0.0.1" }, port: 8080 };
 * const destination = { address: { type: "domain" as const, host: "example.com" }, port: 443 };
 * await assert.rejects(httpConnect(reader, writer, proxy, destination), { code: "auth-failed" });
 * assert.match(sent[0], /^CONNECT example\.com:443 HTTP\/1\.1\r\nHost: example\.com:443\r\n/);
 * ```
 */
export async function httpConnect(
  reader: ByteReader,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  proxy: ProxySpec,
  destination: HostPort,
): Promise<void> {
  const authority = formatHostPort(destination);
  const headers: HttpHeader[] = [{ name: "Host", value: authority }];
  if (proxy.username !== undefined) {
    headers.push({ name: "Proxy-Authorization", value: basicCredentials(proxy.username, proxy.password ?? "") });
  }
  await writer.write(encodeHttpHead(`CONNECT ${authority} HTTP/1.1`, headers));
  let head;
  try {
    head = await reader.read(httpResponseHeadDecoder());
  } catch (error) {
    if (error instanceof SocksError && error.code !== "closed") {
      throw new SocksError("failed", `HTTP proxy: bad answer to CONNECT: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (head.status >= 200 && head.status < 300) return;
  const code = CODE_BY_STATUS[head.status] ?? "failed";
  throw new SocksError(code, `HTTP proxy: ${head.status} ${head.reason}`.trimEnd(), { reply: head.status });
}
