/**
 * A child process for tests that must bound a decoder's time without blocking the test's own event loop: reads a
 * request head from stdin, decodes it with a head limit just over its length, and prints the header count or the
 * SocksError code. Run it with tests/helpers/process.ts `run` and a kill timeout.
 */
import process from "node:process";
import { decodeHttpRequestHead } from "../../lib/wire/http_head.ts";
import { SocksError } from "../../lib/wire/socks_error.ts";

const chunks: Uint8Array[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
let at = 0;
for (const chunk of chunks) {
  bytes.set(chunk, at);
  at += chunk.length;
}
try {
  const result = decodeHttpRequestHead(bytes, bytes.length + 1);
  process.stdout.write(result.done ? `headers ${result.value.headers.length}` : "need more");
} catch (error) {
  if (!(error instanceof SocksError)) throw error;
  process.stdout.write(`refused ${error.code}`);
}
