/**
 * The core is handed its Network: nothing in lib/ outside lib/runtime picks a runtime. The package root (mod.ts)
 * and the CLI fill in the running runtime's; a direct call into lib/ without one gets this error, not a guess.
 *
 * @module
 */
import type { Network } from "./network.ts";
import { SocksError } from "../wire/socks_error.ts";

/**
 * The given Network, or a "bad-field" SocksError naming the call that needed one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requireNetwork } from "./require_network.ts";
 * assert.throws(() => requireNetwork(undefined, "connect"), { code: "bad-field" });
 * ```
 */
export function requireNetwork(network: Network | undefined, caller: string): Network {
  if (network !== undefined) return network;
  throw new SocksError(
    "bad-field",
    `${caller}: no network given; pass options.network (e.g. denoNetwork() from @tabi/socks/deno), or call ` +
      `${caller} from the package root (@tabi/socks), which uses the running runtime's`,
  );
}
