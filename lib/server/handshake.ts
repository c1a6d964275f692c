/**
 * The two handshakes up to a complete request: SOCKS4/4a (one message, the USERID checked against the users when
 * there are users) and SOCKS5 (method negotiation, the chosen method's sub-negotiation, then the request).
 *
 * @module
 */
import type { ByteSink } from "../io/byte_sink.ts";
import type { ByteReader } from "../io/byte_reader.ts";
import type { Endpoint } from "../net/network.ts";
import type { HostPort } from "../wire/address.ts";
import { Socks4Command, Socks5Command, Socks5Method } from "../wire/constants.ts";
import { decodeSocks4Request } from "../wire/socks4.ts";
import { decodeSocks5Greeting, encodeSocks5MethodSelection } from "../wire/socks5_greeting.ts";
import { decodeSocks5Request } from "../wire/socks5_request.ts";
import { SocksError } from "../wire/socks_error.ts";
import type { AuthResult } from "./auth.ts";
import type { ServerConfig } from "./config.ts";
import { identCheck } from "./ident_check.ts";
import type { Replier } from "./replier.ts";
import type { CommandName } from "./rules.ts";

/** A complete, authenticated request. */
export interface ClientRequest {
  /** The SOCKS version, or "http" for a request on the HTTP side. */
  readonly version: 4 | 5 | "http";
  readonly command: CommandName;
  readonly destination: HostPort;
  /** The SOCKS5 username or the SOCKS4 USERID (empty USERID: undefined). */
  readonly user: string | undefined;
  /** An unchecked username kept only as a session label (see `acceptAnyCredentials`); never used by rules. */
  readonly label?: string;
  /** The user the client host's identd reported (SOCKS4 with the IDENT check on). */
  readonly identUser?: string;
  /** Set when the destination arrived as an address the DNS port mapped: the family it arrived as. */
  readonly mapped?: "ipv4" | "ipv6";
}

const SOCKS5_COMMAND_NAMES: Readonly<Record<number, CommandName>> = {
  [Socks5Command.Connect]: "connect",
  [Socks5Command.Bind]: "bind",
  [Socks5Command.UdpAssociate]: "udp-associate",
  [Socks5Command.Resolve]: "resolve",
  [Socks5Command.ResolvePtr]: "resolve-ptr",
};

/**
 * Reads a SOCKS4 or SOCKS4a request. SOCKS4 has no password, so it must not get around SOCKS5 authentication: when
 * the server requires authentication, SOCKS4 is refused (CD 91) unless the operator let USERIDs in, and then the
 * USERID must name a user.
 */
export async function socks4Handshake(
  reader: ByteReader,
  replier: Replier,
  config: ServerConfig,
  connection?: { readonly remoteAddress: Endpoint; readonly localAddress: Endpoint },
): Promise<ClientRequest> {
  replier.armed = true;
  const message = await reader.read(decodeSocks4Request);
  const user = message.userId === "" ? undefined : message.userId;
  if (config.socks4 === "refused") {
    throw new SocksError(
      "auth-failed",
      "SOCKS4 cannot authenticate and this server requires authentication (see --allow-socks4-userid)",
    );
  }
  if (config.socks4 === "userid" && (user === undefined || !config.socks4Users?.has(user))) {
    throw new SocksError("auth-failed", `SOCKS4 USERID "${message.userId}" is not a known user`);
  }
  // The SOCKS4 text's IDENT check (RFC 1413), when the operator turned it on.
  const identUser = config.ident && connection
    ? await identCheck(config.network, connection.remoteAddress, connection.localAddress, message.userId, config.ident)
    : undefined;
  return {
    version: 4,
    command: message.command === Socks4Command.Connect ? "connect" : "bind",
    destination: message.destination,
    user,
    identUser,
  };
}

/**
 * Called once the method authenticated the client (so the user is known even if no request follows); when the
 * method hands over a protected channel (GSS-API), answers what the session reads and replies with from then on.
 */
export type AuthenticatedHook = (
  result: AuthResult,
) => { readonly reader: ByteReader; readonly replier: Replier } | undefined;

/** Negotiates a method, authenticates, and reads a SOCKS5 request (through the method's channel, if it has one). */
export async function socks5Handshake(
  reader: ByteReader,
  writer: ByteSink,
  replier: Replier,
  config: ServerConfig,
  client: Endpoint,
  onAuthenticated?: AuthenticatedHook,
): Promise<ClientRequest> {
  const refuse = async (error: SocksError): Promise<never> => {
    // RFC 1928 section 3: X'FF' means no acceptable method, and the client MUST close; we close too.
    await writer.write(encodeSocks5MethodSelection({ method: Socks5Method.NoAcceptable })).catch(() => {});
    throw error;
  };
  let greeting;
  try {
    greeting = await reader.read(decodeSocks5Greeting);
  } catch (error) {
    if (error instanceof SocksError && error.reply !== undefined) await refuse(error);
    throw error;
  }
  // The server's preference decides among the methods the client offers.
  const authenticator = config.authenticators.find((a) => greeting.methods.includes(a.method));
  if (authenticator === undefined) {
    const offered = greeting.methods.map((m) => `0x${m.toString(16).padStart(2, "0")}`).join(", ");
    await refuse(new SocksError("auth-failed", `no acceptable method among ${offered}`));
  }
  // Not waited for before the next read: the client answers only once it has the selection, so the read can be
  // posted now (the writer keeps the order of later writes; a failed write is thrown below, or fails the read).
  const selectionSent = writer.write(encodeSocks5MethodSelection({ method: authenticator!.method }));
  selectionSent.catch(() => {});
  const result = await authenticator!.authenticate({ reader, writer, client });
  const { user, label } = result;
  const switched = onAuthenticated?.(result);
  if (switched) ({ reader, replier } = switched);
  else if (result.channel) throw new SocksError("failed", "the method's protected channel has no taker");
  replier.armed = true;
  const message = await reader.read(decodeSocks5Request);
  await selectionSent;
  const command = SOCKS5_COMMAND_NAMES[message.command];
  return { version: 5, command, destination: message.destination, user, label };
}
