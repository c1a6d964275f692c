/**
 * Picks the Network adapter of the running runtime: the one place that asks which runtime this is.
 *
 * @module
 */
import type { Network, StreamTlsClient, TlsStreams } from "../net/network.ts";

/** The name of the running runtime. */
export type RuntimeName = "deno" | "bun" | "node" | "workers";

/**
 * Which runtime is running this code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runtimeName } from "./detect.ts";
 * const name = runtimeName();
 * assert.ok(["deno", "bun", "node", "workers"].includes(name));
 * assert.equal(name === "deno", "Deno" in globalThis);
 * ```
 */
export function runtimeName(): RuntimeName {
  const global = globalThis as { Deno?: unknown; Bun?: unknown; navigator?: { userAgent?: string } };
  if (global.Deno !== undefined) return "deno";
  if (global.Bun !== undefined) return "bun";
  // workerd's own name for itself, the documented way to tell a Worker (Node 21+ has a navigator too, as "Node.js").
  if (global.navigator?.userAgent === "Cloudflare-Workers") return "workers";
  return "node";
}

/**
 * The Network adapter for the running runtime: Deno's and Bun's native TCP, `cloudflare:sockets` in a Cloudflare
 * Worker, `node:net` elsewhere. Pass another adapter explicitly (`network` in server and client options) to override.
 * Each adapter is imported only when its runtime runs; none of them imports a `node:` module statically, so that a
 * Worker bundle of the package root loads without `nodejs_compat` (lib/runtime/shared/builtin_module.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultNetwork } from "./detect.ts";
 * const network = await defaultNetwork();
 * assert.equal(typeof network.connect, "function");
 * ```
 */
export async function defaultNetwork(): Promise<Network> {
  const runtime = runtimeName();
  if (runtime === "deno") return (await import("./deno/network.ts")).denoNetwork();
  if (runtime === "bun") return (await import("./bun/network.ts")).bunNetwork();
  if (runtime === "workers") return (await import("./workers/network.ts")).workersNetwork();
  return (await import("./node/network.ts")).nodeNetwork();
}

/**
 * The TLS client for TLS proxies (`https://`, `socks5h+tls://`) and TLS inside tunnels, in the running runtime:
 * node:tls over the byte streams in Deno, Bun and Node alike (shared/stream_tls.ts), loaded at its first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultTlsClient } from "./detect.ts";
 * // A peer that closes at once: the handshake fails.
 * const readable = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
 * await assert.rejects(defaultTlsClient({ readable, writable: new WritableStream() }, { serverName: "localhost" }));
 * ```
 */
export const defaultTlsClient: StreamTlsClient = async (streams, options): Promise<TlsStreams> =>
  await (await import("./shared/stream_tls.ts")).startStreamTls(streams, options);
