// The test peers of scripts/peers.txt and where each is on this machine. Plain JavaScript with no dependency, so
// that the install step runs under `node` before anything is installed and the test helper imports the same code.
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";

/**
 * One line of peers.txt.
 * @typedef {{ command: string, pkg: string, service: string | undefined }} Peer
 */

/**
 * Where peers are looked for: PATH plus the sbin folders a non-root PATH lacks (sshd, danted live there).
 * TABI_PEER_PATH replaces it, so that a missing peer can be shown without uninstalling anything
 * (`TABI_PEER_PATH=/nowhere npm test`).
 * @param {Record<string, string | undefined>} env
 * @returns {string[]}
 */
export function peerSearchPath(env = process.env) {
  if (env.TABI_PEER_PATH !== undefined) return env.TABI_PEER_PATH.split(delimiter).filter((d) => d !== "");
  return [...(env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"].filter((d) => d !== "");
}

/**
 * The peers listed in peers.txt, in order.
 * @param {string} text the file's contents
 * @returns {Peer[]}
 */
export function parsePeers(text) {
  return text.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [command, pkg, service] = line.split(":");
      if (!command || !pkg) throw new Error(`peers.txt: "${line}" is not COMMAND:PACKAGE[:SERVICE]`);
      return { command, pkg, service: service || undefined };
    });
}

/**
 * Reads scripts/peers.txt.
 * @returns {Peer[]}
 */
export function readPeers() {
  return parsePeers(readFileSync(new URL("./peers.txt", import.meta.url), "utf8"));
}

/**
 * The full path of a peer's command, or undefined when it is not installed. A command with a slash is a file:
 * under TABI_PEER_PATH it is looked for by its name in those folders instead, so that the override hides it too.
 * @param {string} command
 * @param {string[]} [dirs]
 * @returns {string | undefined}
 */
export function findPeer(command, dirs = peerSearchPath()) {
  const isFile = command.includes("/");
  if (isFile && process.env.TABI_PEER_PATH === undefined) return exists(command, constants.R_OK) ? command : undefined;
  const name = isFile ? command.slice(command.lastIndexOf("/") + 1) : command;
  for (const dir of dirs) {
    const path = join(dir, name);
    if (exists(path, isFile ? constants.R_OK : constants.X_OK)) return path;
  }
  return undefined;
}

/**
 * The peers that are not installed.
 * @param {Peer[]} [peers]
 * @returns {Peer[]}
 */
export function missingPeers(peers = readPeers()) {
  const dirs = peerSearchPath();
  return peers.filter((peer) => findPeer(peer.command, dirs) === undefined);
}

/**
 * The Debian packages of `peers`, each once, in list order.
 * @param {Peer[]} peers
 * @returns {string[]}
 */
export function packagesOf(peers) {
  return [...new Set(peers.map((peer) => peer.pkg))];
}

/** @param {string} path @param {number} mode @returns {boolean} */
function exists(path, mode) {
  try {
    accessSync(path, mode);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
