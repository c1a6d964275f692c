/**
 * The file descriptor of one of this process's own listening TCP sockets, found the way `ss -p` finds it: the socket's
 * inode in /proc/net/tcp or tcp6 (this network namespace's), then the descriptor in /proc/self/fd that links to it.
 * Linux only. For options the runtimes cannot set themselves (IP_TRANSPARENT: transparent.ts).
 *
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { Endpoint } from "../../net/network.ts";
import { ipv4ToBytes, ipv6ToBytes } from "../../wire/address.ts";

const LISTEN_STATE = "0A";

/** The kernel's hex form of an address in /proc/net/tcp*: each 32-bit word in the host's (little-endian) order. */
function procAddress(hostname: string): string | undefined {
  const bytes = ipv4ToBytes(hostname) ?? ipv6ToBytes(hostname);
  if (bytes === undefined) return undefined;
  let hex = "";
  for (let word = 0; word < bytes.length; word += 4) {
    for (let i = 3; i >= 0; i--) hex += bytes[word + i].toString(16).padStart(2, "0");
  }
  return hex.toUpperCase();
}

/** The inode of the socket listening on `endpoint` in this network namespace, if any. */
function listeningInode(endpoint: Endpoint): string | undefined {
  const address = procAddress(endpoint.hostname);
  if (address === undefined) return undefined;
  const file = address.length === 8 ? "/proc/net/tcp" : "/proc/net/tcp6";
  const local = `${address}:${endpoint.port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[3] === LISTEN_STATE) return fields[9];
  }
  return undefined;
}

/**
 * The descriptor of this process's socket listening on `endpoint` (an IP literal and a port), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listeningSocketFd } from "./socket_fd.ts";
 * assert.equal(listeningSocketFd({ hostname: "127.0.0.1", port: 1 }), undefined);
 * ```
 */
export function listeningSocketFd(endpoint: Endpoint): number | undefined {
  const inode = listeningInode(endpoint);
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === target) return Number(name);
    } catch {
      // Closed between the listing and the look: not ours to find.
    }
  }
  return undefined;
}
