/**
 * IP_TRANSPARENT on one of this process's listeners (Linux; CAP_NET_ADMIN in its network namespace), through the
 * running runtime's FFI: none of the three can set it, and a TPROXY rule (nftables `tproxy to`) delivers connections
 * only to a listener that has it. The accepted connection's local address is then where the client was going, any
 * address and any port, IPv4 and IPv6: what `tabi run` captures connections with (docs/run.md).
 *
 * @module
 */
import type { Endpoint } from "../net/network.ts";
import { SocksError } from "../wire/socks_error.ts";
import { runtimeName } from "./detect.ts";
import { type SetSocketOption, SocketOption } from "./shared/libc_socket.ts";
import { listeningSocketFd } from "./shared/socket_fd.ts";

async function loadSetSocketOption(): Promise<SetSocketOption> {
  const runtime = runtimeName();
  if (runtime === "deno") return (await import("./deno/set_socket_option.ts")).denoSetSocketOption();
  if (runtime === "bun") return await (await import("./bun/set_socket_option.ts")).bunSetSocketOption();
  return await (await import("./node/set_socket_option.ts")).nodeSetSocketOption();
}

/**
 * Sets IP_TRANSPARENT on the socket listening on `address` in this process; rejects with SocksError "unsupported"
 * when there is no such socket, no FFI, or the kernel refuses (no CAP_NET_ADMIN).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeTransparent } from "./transparent.ts";
 * await assert.rejects(makeTransparent({ hostname: "127.0.0.1", port: 1 }), { code: "unsupported" });
 * ```
 */
export async function makeTransparent(address: Endpoint): Promise<void> {
  const fd = listeningSocketFd(address);
  if (fd === undefined) {
    throw new SocksError("unsupported", `no socket of this process listens on ${address.hostname}:${address.port}`);
  }
  let setSocketOption: SetSocketOption;
  try {
    setSocketOption = await loadSetSocketOption();
  } catch (error) {
    if (error instanceof SocksError) throw error;
    throw new SocksError("unsupported", `no FFI to set IP_TRANSPARENT: ${(error as Error).message}`, { cause: error });
  }
  const one = new Uint8Array(new Int32Array([1]).buffer);
  // SOL_IP's IP_TRANSPARENT sets the same flag on IPv6 sockets as IPV6_TRANSPARENT would.
  if (setSocketOption(fd, SocketOption.levelIp, SocketOption.ipTransparent, one) !== 0) {
    throw new SocksError(
      "unsupported",
      `setsockopt(IP_TRANSPARENT) on ${address.hostname}:${address.port} failed: it needs CAP_NET_ADMIN`,
    );
  }
}
