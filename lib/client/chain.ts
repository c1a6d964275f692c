/**
 * Opening a connection through a chain of proxies (多段): connect to the first, ask each hop to CONNECT to the
 * next, then hand the last hop to the caller for the real request. Every failure names its hop. Names are
 * resolved only where the proxy URL says, so no destination name reaches the local DNS unless allowed.
 *
 * @module
 */
import { connectAny } from "../net/connect_any.ts";
import { ByteReader } from "../io/byte_reader.ts";
import type { Connection, Network } from "../net/network.ts";
import { startDeadline } from "../time/deadline.ts";
import { requireNetwork } from "../net/require_network.ts";
import { type DomainAddress, type HostPort, type Ipv4Address, parseHostPort } from "../wire/address.ts";
import { Socks4Command, Socks5Command, type Socks5CommandCode } from "../wire/constants.ts";
import { SocksError } from "../wire/socks_error.ts";
import { checkPolicy, prepareDestination } from "./dns_policy.ts";
import { readSocks4Reply, readSocks5Reply, socks4Request, socks5Negotiate, socks5Request } from "./handshake.ts";
import {
  DEFAULT_CLIENT_TIMEOUT_MS,
  type DestinationInput,
  type NetworkClientOptions,
  type ProxyChainInput,
} from "./options.ts";
import { formatProxy, parseProxyUrl, type ProxySpec } from "./proxy_url.ts";
import { httpConnect } from "./http_connect.ts";
import { untouchedReadable } from "../io/untouched_readable.ts";

// An HTTP proxy does not say which address its outbound connection has.
const NO_ADDRESS: HostPort = { address: { type: "ipv4", host: "0.0.0.0" }, port: 0 };

/** The last hop, handshaked up to its request, as handed to the caller. */
export interface LastHop {
  readonly connection: Connection;
  readonly reader: ByteReader;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  /** The stream `writer` writes to: the connection's, or a GSS-API protected channel's (RFC 1961). */
  readonly writable: WritableStream<Uint8Array>;
  readonly proxy: ProxySpec;
  /** The hop number of the last proxy (1 for a single proxy). */
  readonly hop: number;
  readonly network: Network;
  /** Sends the request to the last proxy; returns its (first) reply's bound address. */
  request(command: Socks5CommandCode, destination: HostPort): Promise<HostPort>;
  /** Reads a further reply (BIND's second). */
  nextReply(): Promise<HostPort>;
  /** Prepares a destination under the DNS policy of the last proxy. */
  prepare(destination: HostPort): Promise<HostPort>;
}

/** Parses proxy inputs into a non-empty list. */
export function proxyList(input: ProxyChainInput): ProxySpec[] {
  const list = (Array.isArray(input) ? input : [input]) as readonly (string | ProxySpec)[];
  if (list.length === 0) throw new SocksError("bad-url", "no proxy given");
  return list.map((p) => (typeof p === "string" ? parseProxyUrl(p) : p));
}

/** Parses a destination input. */
export function parseDestination(input: DestinationInput): HostPort {
  return typeof input === "string" ? parseHostPort(input) : input;
}

/**
 * Opens a connection through the chain and runs `last` on the last hop; closes everything on failure. The DNS
 * policy of every hop (and of `finalTarget`, when given) is checked before anything is sent anywhere.
 */
export async function throughChain<T>(
  input: ProxyChainInput,
  options: NetworkClientOptions,
  last: (hop: LastHop) => Promise<T>,
  finalTarget?: HostPort,
): Promise<T> {
  const network = requireNetwork(options?.network, "a client call");
  const proxies = proxyList(input);
  proxies.forEach((proxy, i) => {
    const target = i + 1 < proxies.length
      ? { address: proxies[i + 1].address, port: proxies[i + 1].port }
      : finalTarget;
    if (target) checkPolicy(proxy, target, options);
  });
  const lookup = options.resolve ?? ((name: string) => network.resolve(name));
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  const { signal: deadline, clear } = startDeadline(timeoutMs, options.signal);
  let hop = 1;
  let connection: Connection | undefined;
  const onAbort = () => connection?.close();
  deadline.addEventListener("abort", onAbort, { once: true });
  try {
    const first = proxies[0];
    const addresses = first.address.type === "domain" ? await lookup(first.address.host) : [first.address.host];
    connection = await connectAny(
      network,
      addresses,
      first.port,
      timeoutMs,
      options.signal ?? new AbortController().signal,
      false,
      { attemptDelayMs: options.connectAttemptDelayMs, localAddress: options.localAddress },
    );
    let readable = connection.readable;
    let writable = connection.writable;
    if (first.tls) {
      const session = await startProxyTls(first, { readable, writable }, options, connection);
      ({ readable, writable } = session);
    }
    let reader = new ByteReader(readable);
    let writer = writable.getWriter();
    const prepareFor = (proxy: ProxySpec) => (target: HostPort) => prepareDestination(proxy, target, options, lookup);
    const requestVia = async (proxy: ProxySpec, command: Socks5CommandCode, target: HostPort): Promise<HostPort> => {
      const prepared = await prepareFor(proxy)(target);
      if (proxy.version === "http") {
        if (command !== Socks5Command.Connect) throw new SocksError("unsupported", "an HTTP proxy has only CONNECT");
        await httpConnect(reader, writer, proxy, prepared);
        return NO_ADDRESS;
      }
      if (proxy.version === 4) {
        if (command !== Socks5Command.Connect && command !== Socks5Command.Bind) {
          throw new SocksError("unsupported", "SOCKS4 has only CONNECT and BIND");
        }
        const code = command === Socks5Command.Connect ? Socks4Command.Connect : Socks4Command.Bind;
        const reply = await socks4Request(
          reader,
          writer,
          proxy,
          code,
          prepared as { address: Ipv4Address | DomainAddress; port: number },
        );
        return reply.bound;
      }
      const session = await socks5Negotiate(reader, writer, proxy, options.gssapi);
      if (session?.channel) {
        // RFC 1961 section 5: from here on, every byte to and from this proxy is wrapped.
        reader = new ByteReader(session.channel.readable);
        writable = session.channel.writable;
        writer = writable.getWriter();
      }
      return (await socks5Request(reader, writer, command, prepared)).bound;
    };
    for (; hop < proxies.length; hop++) {
      const next = proxies[hop];
      await requestVia(proxies[hop - 1], Socks5Command.Connect, { address: next.address, port: next.port });
      if (next.tls) {
        // TLS to the next proxy, inside the tunnel the hops so far made (bytes read past the reply included).
        writer.releaseLock();
        const released = reader.release();
        const tunnel = { readable: untouchedReadable(released.leftover, released.readable), writable };
        const session = await startProxyTls(next, tunnel, options);
        reader = new ByteReader(session.readable);
        writable = session.writable;
        writer = writable.getWriter();
      }
    }
    const lastProxy = proxies[proxies.length - 1];
    const result = await last({
      connection,
      // Getters: the last hop's own negotiation (inside `request`) may switch them to a protected channel.
      get reader() {
        return reader;
      },
      get writer() {
        return writer;
      },
      get writable() {
        return writable;
      },
      proxy: lastProxy,
      hop,
      network,
      request: (command, target) => requestVia(lastProxy, command, target),
      nextReply: async () => (lastProxy.version === "http"
        ? Promise.reject(new SocksError("unsupported", "an HTTP proxy has only CONNECT"))
        : lastProxy.version === 4
        ? (await readSocks4Reply(reader)).bound
        : (await readSocks5Reply(reader)).bound),
      prepare: prepareFor(lastProxy),
    });
    return result;
  } catch (error) {
    connection?.close();
    throw hopError(error, hop, proxies, deadline, options.signal, timeoutMs);
  } finally {
    clear();
    deadline.removeEventListener("abort", onAbort);
  }
}

/**
 * Starts TLS to `proxy` over `streams`: in place when they are `connection`'s own and it can (Cloudflare's
 * `startTls()`), else with the options' TLS client. The certificate is checked against the proxy's name or address
 * (RFC 6125; an IP literal against the certificate's IP addresses, and sent as no SNI, RFC 6066 section 3); an HTTP
 * proxy is offered ALPN http/1.1 (a browser's HTTPS proxy may speak HTTP/2 to one that offers h2).
 */
async function startProxyTls(
  proxy: ProxySpec,
  streams: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> },
  options: NetworkClientOptions,
  connection?: Connection,
): Promise<{ readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array> }> {
  const tlsOptions = {
    serverName: proxy.address.host,
    ...(options.proxyCa !== undefined ? { ca: options.proxyCa } : {}),
    ...(proxy.version === "http" ? { alpn: ["http/1.1"] } : {}),
  };
  try {
    if (connection?.startTls) return await connection.startTls(tlsOptions);
    if (options.tlsClient === undefined) {
      throw new SocksError("unsupported", "a TLS proxy needs a TLS client (options.tlsClient)");
    }
    return await options.tlsClient(streams, tlsOptions);
  } catch (error) {
    if (error instanceof SocksError) throw error;
    throw new SocksError("failed", `TLS to ${formatProxy(proxy)}: ${(error as Error).message}`, { cause: error });
  }
}

/** Wraps a failure with the hop it happened at; a deadline turns into "timeout" or "aborted". */
export function hopError(
  error: unknown,
  hop: number,
  proxies: readonly ProxySpec[],
  deadline: AbortSignal,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): SocksError {
  const where = proxies.length > 1 ? `hop ${hop} (${formatProxy(proxies[hop - 1])}): ` : "";
  if (deadline.aborted) {
    const aborted = signal?.aborted === true;
    const message = aborted ? "aborted" : `no answer within ${timeoutMs} ms`;
    return new SocksError(aborted ? "aborted" : "timeout", `${where}${message}`, { cause: error, hop });
  }
  const e = error instanceof SocksError ? error : new SocksError("failed", String(error), { cause: error });
  if (e.hop !== undefined) return e;
  return new SocksError(e.code, `${where}${e.message}`, { reply: e.reply, cause: e, hop });
}
