/**
 * Dante (danted, Debian's dante-server) on a free loopback port, for the tests that use it as a peer: the one place
 * that writes its configuration.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort, waitForPort } from "./net.ts";
import { requirePeer } from "./peers.ts";
import { currentUser, daemon } from "./process.ts";

/** CONNECT from loopback to any IPv4 destination: the rule most tests need. */
export const DANTE_CONNECT = "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }";

/** How the Dante of a test is set up. */
export interface DanteOptions {
  /** The `socks pass`/`socks block` rules, in order; default {@link DANTE_CONNECT}. */
  readonly rules?: readonly string[];
  /** Log at debug level: Dante then shows each request's destination as the packet carried it (ATYP 3: a name). */
  readonly debug?: boolean;
  /** Also reach IPv6 destinations (`external: ::1`). */
  readonly ipv6?: boolean;
}

/** A running Dante. */
export interface Dante {
  readonly port: number;
  /** What it wrote to stdout and stderr so far (its log). */
  output(): string;
  /** Stops it and removes its configuration. */
  stop(): Promise<void>;
}

/** Starts Dante without authentication on 127.0.0.1 at a free port, and waits until it listens. */
export async function startDante(options: DanteOptions = {}): Promise<Dante> {
  const command = requirePeer("danted"); // in /usr/sbin, often not on a user's PATH
  const port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), "tabi-dante-"));
  const config = join(dir, "danted.conf");
  const user = currentUser();
  writeFileSync(
    config,
    [
      "logoutput: stderr",
      ...(options.debug ? ["debug: 1"] : []),
      `internal: 127.0.0.1 port = ${port}`,
      "external: 127.0.0.1",
      ...(options.ipv6 ? ["external: ::1"] : []),
      "clientmethod: none",
      "socksmethod: none",
      `user.privileged: ${user}`,
      // Only root may switch to nobody; any other user runs Dante as itself.
      `user.unprivileged: ${user === "root" ? "nobody" : user}`,
      "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }",
      ...(options.rules ?? [DANTE_CONNECT]),
      "",
    ].join("\n"),
  );
  const dante = daemon(command, ["-f", config]);
  const stop = async () => {
    await dante.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  await waitForPort(port, "danted").catch(async (error) => {
    const output = dante.output();
    await stop();
    throw new Error(`${error.message}: ${output}`);
  });
  return { port, output: () => dante.output(), stop };
}
