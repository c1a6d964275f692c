/**
 * The peers a test runs (curl, microsocks, sshd, ...): a test whose peer is missing fails naming it, never skips.
 * The list and the lookup are scripts/peers.txt and scripts/peers.mjs, which the install step (`npm test`, .ci/run)
 * uses too.
 */
import { findPeer, readPeers } from "../../scripts/peers.mjs";

/**
 * Returns the full path of `command`, or throws "peer X is not installed (apt-get install PKG; see README)". The
 * command must be listed in scripts/peers.txt, so that the install step installs it. Call it in the test, or in both
 * hooks of its suite: `before` (so nothing is started without the peer; Node then cancels the suite's tests, which
 * npm test counts as failed) and `beforeEach` (Bun runs the tests even when `before` failed: each fails this way).
 */
export function requirePeer(command: string): string {
  const peer = readPeers().find((p) => p.command === command);
  if (peer === undefined) {
    throw new Error(`peer ${command} is not listed in scripts/peers.txt: add "${command}:DEBIAN-PACKAGE" there`);
  }
  const path = findPeer(command);
  if (path === undefined) {
    throw new Error(
      `peer ${command} is not installed (apt-get install ${peer.pkg}; see README: npm test run as root installs it)`,
    );
  }
  return path;
}
