/**
 * `tabi connect`: a stdio tunnel through SOCKS proxies, like `ncat --proxy`, so it works as OpenSSH's
 * ProxyCommand. The end of stdin is passed on as a half-close (unless --no-shutdown); the command ends, as ncat's
 * does, once the far side has closed and stdin has been sent whole, with exit code 1 and a message when either
 * direction was cut (a reset, or an upload that met a closed tunnel) rather than closed.
 *
 * @module
 */
import process from "node:process";
import { connect } from "../lib/client/connect.ts";
import { connectAny } from "../lib/net/connect_any.ts";
import { DEFAULT_CLIENT_TIMEOUT_MS } from "../lib/client/options.ts";
import { proxyFromEnv } from "../lib/client/env.ts";
import type { Tunnel } from "../lib/client/tunnel.ts";
import { defaultNetwork, defaultTlsClient } from "../lib/runtime/detect.ts";
import { readProxyCa } from "./proxy_cacert.ts";
import { getEnv } from "../lib/runtime/shared/env.ts";
import { checkPort, parseAddress } from "../lib/wire/address.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { parseOptions } from "./flags.ts";
import type { CliOutput } from "./output.ts";
import { UsageError } from "./usage_error.ts";
import { tunnelFailure } from "./tunnel_failure.ts";
import { CONNECT_GSSAPI_HELP, connectGssApiOptions, GSSAPI_OPTIONS, type GssApiFlags } from "./gssapi_flags.ts";

/** The help text of `tabi connect`. */
export const CONNECT_HELP: string = `Usage: tabi connect [--proxy URL]... HOST PORT

Opens a tunnel to HOST:PORT through SOCKS proxies and joins it to stdin/stdout, e.g. as ssh's ProxyCommand:
  ssh -o ProxyCommand='tabi connect --proxy socks5h://127.0.0.1:1080 %h %p' host
It ends, as ncat does, once the far side has closed and stdin has been sent whole; a tunnel cut either way (a
reset, or stdin not sent whole because the tunnel was gone) is exit code 1 and a message.

Options:
  --proxy URL          socks4://, socks4a://, socks5://, socks5h://, socks:// (= socks5h), http:// or https://
                       (HTTP CONNECT), a SOCKS one with +tls for SOCKS inside TLS (socks5h+tls://); repeat for
                       a chain. Without it, ALL_PROXY is used (and NO_PROXY, as curl reads them)
  --proxy-cacert FILE  CA certificates (PEM) that TLS proxies' certificates may chain to, besides the system's
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
    "proxy-cacert": { type: "string" },
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
  let proxyCa;
  try {
    gssapi = await connectGssApiOptions(values as GssApiFlags);
    proxyCa = await readProxyCa(values["proxy-cacert"] as string | undefined);
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
        proxyCa,
        tlsClient: defaultTlsClient,
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
 * Copies stdin into the tunnel (then half-closes it, if `shutdown`) and the tunnel into stdout. Returns what cut the
 * tunnel, or undefined when it ended normally (or stdout was closed: `| head` is no error).
 *
 * With `shutdown` it ends as ncat does: once the far side has closed and stdin has been sent whole, or at the first
 * failure either way. An upload that fails is an error even when the download ended cleanly: Linux reports a reset
 * once, to whichever call comes next, so when the upload's write takes it the download sees only a clean end; and a
 * proxy that closes with nothing unread sends a FIN, so that only the next write meets the reset. Without `shutdown`
 * the user has said that the far side decides: the command ends when it closes.
 */
async function joinStdio(tunnel: Tunnel, shutdown: boolean): Promise<string | undefined> {
  const writer = tunnel.writable.getWriter();
  // A closed stdout (EPIPE) also arrives as an "error" event: without a listener that is an uncaught exception.
  // The listener stays: the process exits right after.
  process.stdout.on("error", () => {});
  // Settles (never rejects) when stdin has been sent and half-closed, or a write failed (with that failure kept).
  let uploadFailure: unknown;
  const failed = (step: Promise<void>) => step.then(() => false, (error) => ((uploadFailure = error), true));
  const uploaded = (async () => {
    try {
      for await (const chunk of process.stdin) if (await failed(writer.write(chunk as Uint8Array))) return;
      if (shutdown) await failed(writer.close());
    } catch {
      // stdin itself failed (a closed descriptor): what was read is sent; the tunnel's side decides the end.
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
    if (!shutdown) return undefined;
    await uploaded;
    return uploadFailure === undefined ? undefined : tunnelFailure(uploadFailure, "upload");
  } catch (error) {
    return tunnelFailure(error, "download");
  } finally {
    tunnel.close();
  }
}
