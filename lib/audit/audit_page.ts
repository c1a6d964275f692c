/**
 * The audit site's page, served in memory as if it were a connection to the site: it reads one HTTP request head
 * and answers it, so that a program that sent the name through the proxy gets a real response.
 *
 * @module
 */
import type { Connection, Endpoint } from "../net/network.ts";

/** The page's HTML. */
export const AUDIT_PAGE: string = "<!doctype html><title>tabi audit</title>" +
  "<p>This page came through the tabi audit proxy. It forwards nothing: nothing you do here leaves the machine.</p>\n";

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/**
 * A connection whose far end is the audit page: bytes written to it are read up to the end of an HTTP request head
 * (or 64 KiB), then the page is sent and the page's side closes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pageConnection } from "./audit_page.ts";
 * const page = pageConnection({ hostname: "192.0.2.1", port: 80 });
 * const writer = page.writable.getWriter();
 * await writer.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
 * const { value } = await page.readable.getReader().read();
 * assert.match(new TextDecoder().decode(value), /^HTTP\/1\.1 200 OK/);
 * ```
 */
export function pageConnection(endpoint: Endpoint): Connection {
  const fromPage = new TransformStream<Uint8Array, Uint8Array>();
  const pageWriter = fromPage.writable.getWriter();
  const body = encoder.encode(AUDIT_PAGE);
  const response = encoder.encode(
    `HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
      `Connection: close\r\n\r\n`,
  );
  let head = "";
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    pageWriter.write(response).then(() => pageWriter.write(body)).then(() => pageWriter.close()).catch(() => {});
  };
  const toPage = new WritableStream<Uint8Array>({
    write(chunk) {
      if (answered) return;
      head += latin1.decode(chunk.subarray(0, 65536));
      if (head.includes("\r\n\r\n") || head.length >= 65536) answer();
    },
    close() {
      if (!answered) {
        answered = true;
        pageWriter.close().catch(() => {});
      }
    },
  });
  return {
    readable: fromPage.readable,
    writable: toPage,
    localAddress: endpoint,
    remoteAddress: endpoint,
    close() {
      answered = true;
      pageWriter.abort().catch(() => {});
    },
  };
}
