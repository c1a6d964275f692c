/**
 * `tabi connect`: a stdio tunnel through SOCKS proxies, like `ncat --proxy`, so it works as OpenSSH's
 * ProxyCommand. The end of stdin is passed on as a half-close (unless --no-shutdown); the command ends when the far
 * side closes, with exit code 1 and a message when the tunnel was cut (a reset) rather than closed.
 *
 * @module
 */
import process from "node:process";
import { connect } from "../lib/client/connect.ts";
import { connectAny } from "../lib/net/connect_any.ts";
import { DEFAULT_CLIENT_TIMEOUT_MS } from "../lib/client/options.ts";
import { proxyFromEnv } from "../lib/client/env.ts";
import type { Tunnel } from "../lib/client/tunnel.ts";
import { defaultNetwork } from "../lib/runtime/detect.ts";
import { getEnv } from "../lib/runtime/shared/env.ts";
import { checkPort, parseAddress } from "../lib/wire/address.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { toSocksError } from "../lib/net/net_error.ts";
import { parseOptions } from "./flags.ts";
import type { CliOutput } from "./output.ts";
import { UsageError } from "./usage_error.ts";
import { CONNECT_GSSAPI_HELP, connectGssApiOptions, GSSAPI_OPTIONS, type GssApiFlags } from "./gssapi_flags.ts";

/** The help text of `tabi connect`. */
export const CONNECT_HELP: string = `Usage: tabi connect [--proxy URL]... HOST PORT

Opens a tunnel to HOST:PORT through SOCKS proxies and joins it to stdin/stdout, e.g. as ssh's ProxyCommand:
  ssh -o ProxyCommand='tabi connect --proxy socks5h://127.0.0.1:1080 %h %p' host

Options:
  --proxy URL          socks4://, socks4a://, socks5://, socks5h:// or socks:// (= socks5h); repeat for a chain.
                       Without it, ALL_PROXY is used (and NO_PROXY, as curl reads them)
  --allow-local-dns    let socks4:// and socks5:// resolve HOST on this machine (a DNS leak; off by default)
  --timeout S          time to set the tunnel up (default 30)
  --no-shutdown        keep the tunnel's sending side open when stdin ends (no half-close), for proxies
                       that drop a tunnel at the client's FIN, such as microsocks; the command then ends
                       only when the far side closes
${CONNECT_GSSAPI_HELP}  -h, --help           this text
`;

/** Parses HOST and PORT, naming the bad one. */
export function hostAndPort(positionals: string[], command: string): { host: string; port: number } {
  if (positionals.length !== 2) throw new UsageError(`${command} needs HOST and PORT (see tabi ${command} --help)`);
  const [host, portText] = positionals;
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`PORT "${portText}" is not a port`);
  }
  try {
    parseAddress(host);
  } catch (error) {
    throw new UsageError(`HOST "${host}": ${(error as Error).message}`);
  }
  return { host, port: checkPort(Number(portText)) };
}

/** Parses --timeout, naming the flag. */
export function timeoutFlag(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) throw new UsageError(`--timeout: "${text}" is not a number of seconds`);
  return Math.round(Number(text) * 1000);
}

/** Runs `tabi connect`. */
export async function connectCli(args: string[], output: CliOutput): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    proxy: { type: "string", multiple: true },
    "allow-local-dns": { type: "boolean" },
    timeout: { type: "string" },
    "no-shutdown": { type: "boolean" },
    ...GSSAPI_OPTIONS,
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    output.out(CONNECT_HELP);
    return 0;
  }
  const { host, port } = hostAndPort(positionals, "connect");
  const timeoutMs = timeoutFlag(values.timeout);
  const target = { address: parseAddress(host), port };
  let proxies = values.proxy as string[] | undefined;
  if (!proxies || proxies.length === 0) {
    const fromEnv = proxyFromEnv(`${target.address.type === "ipv6" ? `[${host}]` : host}:${port}`, getEnv);
    const hasProxyVar = proxyFromEnv("tcp://0.0.0.0:0", getEnv) !== undefined;
    if (fromEnv === undefined && !hasProxyVar) throw new UsageError("no --proxy given and ALL_PROXY is not set");
    proxies = fromEnv === undefined ? [] : [fromEnv];
  }
  let tunnel: Tunnel | undefined;
  let gssapi;
  try {
    gssapi = await connectGssApiOptions(values as GssApiFlags);
  } catch (error) {
    if (!(error instanceof SocksError)) throw error;
    output.err(`tabi connect: ${error.message}\n`);
    return 1;
  }
  // The CLI is an edge: it picks the running runtime's Network and hands it to the core.
  const network = await defaultNetwork();
  try {
    if (proxies.length === 0) {
      // NO_PROXY excludes this host: go direct, as curl does.
      const addresses = await network.resolve(host.replace(/^\[|\]$/g, ""));
      // Every address of the name, raced (RFC 8305), not only the first.
      const connection = await connectAny(
        network,
        addresses,
        port,
        timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
        new AbortController().signal,
      );
      // Named one by one: an adapter's Connection may keep its members on a prototype, which a spread leaves out.
      tunnel = {
        readable: connection.readable,
        writable: connection.writable,
        localAddress: connection.localAddress,
        remoteAddress: connection.remoteAddress,
        close: () => connection.close(),
        reset: () => (connection.reset ?? connection.close).call(connection),
        bound: { address: target.address, port },
      };
    } else {
      tunnel = await connect(proxies, target, {
        network,
        allowLocalDns: values["allow-local-dns"] === true,
        timeoutMs,
        gssapi,
      });
    }
  } catch (error) {
    if (error instanceof SocksError) {
      output.err(`tabi connect: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const failure = await joinStdio(tunnel, values["no-shutdown"] !== true);
  if (failure === undefined) return 0;
  output.err(`tabi connect: ${failure}\n`);
  return 1;
}

/**
 * Copies stdin into the tunnel (then half-closes it, if `shutdown`) and the tunnel into stdout, until the far side
 * ends. Returns what cut the tunnel, or undefined when it ended normally (or stdout was closed: `| head` is no error).
 */
async function joinStdio(tunnel: Tunnel, shutdown: boolean): Promise<string | undefined> {
  const writer = tunnel.writable.getWriter();
  // A closed stdout (EPIPE) also arrives as an "error" event: without a listener that is an uncaught exception.
  // The listener stays: the process exits right after.
  process.stdout.on("error", () => {});
  (async () => {
    try {
      for await (const chunk of process.stdin) await writer.write(chunk as Uint8Array);
      if (shutdown) await writer.close();
    } catch {
      // The tunnel closed under us; the reading side reports the end.
    }
  })();
  try {
    for await (const chunk of tunnel.readable) {
      try {
        await new Promise<void>((resolve, reject) => process.stdout.write(chunk, (e) => (e ? reject(e) : resolve())));
      } catch {
        return undefined;
      }
    }
    return undefined;
  } catch (error) {
    const failure = toSocksError(error);
    // Worded as ncat and the C library word it, so that scripts matching either keep working.
    return failure.code === "reset" ? "Connection reset by peer" : failure.message;
  } finally {
    tunnel.close();
  }
}
