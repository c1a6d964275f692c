/**
 * Picks the fetch route of the running runtime, the way detect.ts picks its Network: each runtime's file is
 * imported only when that runtime runs (so only Node ever loads undici).
 *
 * @module
 */
import type { FetchRoute, FetchRouteSettings } from "../fetch/route.ts";
import { runtimeName } from "./detect.ts";

/**
 * The running runtime's fetch, pointed at the settings' HTTP proxy and trusting their CA certificates.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultFetchRoute } from "./fetch_route.ts";
 * const route = await defaultFetchRoute({});
 * assert.equal(typeof route.fetch, "function");
 * await route.close();
 * ```
 */
export async function defaultFetchRoute(settings: FetchRouteSettings): Promise<FetchRoute> {
  const runtime = runtimeName();
  if (runtime === "deno") return (await import("./deno/fetch_route.ts")).denoFetchRoute(settings);
  if (runtime === "bun") return (await import("./bun/fetch_route.ts")).bunFetchRoute(settings);
  if (runtime === "workers") return (await import("./workers/fetch_route.ts")).workersFetchRoute(settings);
  return await (await import("./node/fetch_route.ts")).nodeFetchRoute(settings);
}
