/**
 * A listener of the running runtime's Network that keeps every connection it accepts and prints each accept-error
 * report on stderr: run under a low `ulimit -n` by tests/runtime/accept_report_test.ts.
 */
import process from "node:process";
import { defaultNetwork } from "../../lib/runtime/detect.ts";

const network = await defaultNetwork();
const kept: unknown[] = [];
const listener = await network.listen({
  hostname: "127.0.0.1",
  port: 0,
  onAcceptError: (error) => process.stderr.write(`report: ${error.message}\n`),
}, (connection) => void kept.push(connection));
process.stderr.write(`listening on 127.0.0.1:${listener.address.port}\n`);
