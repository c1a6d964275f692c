/** Known payloads and the HTTP servers that serve them, for interop tests. */
import http from "node:http";

/** A deterministic payload of `size` bytes. */
export function payload(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** An HTTP server on `hostname` that answers every GET with `body`. */
export function httpServer(hostname: string, body: Uint8Array): Promise<{ port: number; close(): void }> {
  const server = http.createServer((_, response) => {
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
    response.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, hostname, () => {
      const address = server.address() as { port: number };
      resolve({
        port: address.port,
        close: () => {
          server.closeAllConnections?.();
          server.close();
        },
      });
    });
  });
}

/** True when two byte arrays are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
