/**
 * `tabi resolve`: look a name up (or an address's name, with --ptr) on the proxy through Tor's RESOLVE
 * extensions, so this machine asks no DNS server.
 *
 * @module
 */
import { proxyFromEnv } from "../lib/client/env.ts";
import { defaultNetwork, defaultTlsClient } from "../lib/runtime/detect.ts";
import { readProxyCa } from "./proxy_cacert.ts";
import { getEnv } from "../lib/runtime/shared/env.ts";
import { resolve, resolvePtr } from "../lib/client/resolve.ts";
import { SocksError } from "../lib/wire/socks_error.ts";
import { timeoutFlag } from "./connect.ts";
import { parseOptions } from "./flags.ts";
import type { CliOutput } from "./output.ts";
import { UsageError } from "./usage_error.ts";

/** The help text of `tabi resolve`. */
export const RESOLVE_HELP: string = `Usage: tabi resolve [--proxy URL]... NAME
       tabi resolve [--proxy URL]... --ptr ADDRESS

Asks a SOCKS5 proxy (Tor, or tabi serve --resolve-extension) to resolve NAME, or with --ptr the name of ADDRESS.

Options:
  --proxy URL     the proxy (repeat for a chain; the last must be SOCKS5). Default: ALL_PROXY
  --proxy-cacert FILE  CA certificates (PEM) that TLS proxies' certificates may chain to (https://, +tls)
  --ptr           reverse lookup
  --timeout S     default 30
  -h, --help      this text
`;

/** Runs `tabi resolve`. */
export async function resolveCli(args: string[], output: CliOutput): Promise<number> {
  const { values, positionals } = parseOptions(args, {
    proxy: { type: "string", multiple: true },
    ptr: { type: "boolean" },
    "proxy-cacert": { type: "string" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    output.out(RESOLVE_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`resolve needs one ${values.ptr ? "ADDRESS" : "NAME"} (see tabi resolve --help)`);
  }
  const proxies = (values.proxy as string[] | undefined) ?? [];
  if (proxies.length === 0) {
    const fromEnv = proxyFromEnv("tcp://0.0.0.0:0", getEnv);
    if (fromEnv === undefined) throw new UsageError("no --proxy given and ALL_PROXY is not set");
    proxies.push(fromEnv);
  }
  try {
    const options = {
      network: await defaultNetwork(),
      timeoutMs: timeoutFlag(values.timeout),
      proxyCa: await readProxyCa(values["proxy-cacert"] as string | undefined),
      tlsClient: defaultTlsClient,
    };
    if (values.ptr) output.out(`${await resolvePtr(proxies, positionals[0], options)}\n`);
    else output.out(`${(await resolve(proxies, positionals[0], options)).host}\n`);
    return 0;
  } catch (error) {
    if (error instanceof SocksError) {
      output.err(`tabi resolve: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
