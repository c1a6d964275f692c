/**
 * The IDENT check of the SOCKS4 text (RFC 1413): ask the identd on the client's host who owns the connection, and
 * compare with the USERID. CD 92 when identd cannot be reached (or answers nothing usable in time), 93 when it
 * reports another user or an error (it did not confirm the USERID); on a match the request goes on.
 *
 * @module
 */
import { ByteReader } from "../io/byte_reader.ts";
import { startDeadline } from "../time/deadline.ts";
import type { Endpoint, Network } from "../net/network.ts";
import { Socks4Reply } from "../wire/constants.ts";
import { decodeIdentResponse, encodeIdentQuery, IDENT_PORT } from "../wire/ident.ts";
import { SocksError } from "../wire/socks_error.ts";

/** How the server asks identd. */
export interface IdentSettings {
  /** identd's port on the client's host: 113 (tests use another). */
  readonly port: number;
  /** How long connecting, asking and reading the answer may take together. */
  readonly timeoutMs: number;
}

/** The defaults: port 113, 10 seconds (RFC 1413 suggests a timeout of 60 to 180 s for the daemon; ours is short). */
export const DEFAULT_IDENT: IdentSettings = { port: IDENT_PORT, timeoutMs: 10_000 };

/** Fills in the defaults of the `ident` server option and checks it; undefined when the check is off. */
export function resolveIdent(option: boolean | Partial<IdentSettings> | undefined): IdentSettings | undefined {
  if (!option) return undefined;
  const settings = { ...DEFAULT_IDENT, ...(option === true ? {} : option) };
  if (!Number.isInteger(settings.port) || settings.port < 1 || settings.port > 65535) {
    throw new SocksError("bad-field", `ident.port ${settings.port} is not a port`);
  }
  if (!(Number.isFinite(settings.timeoutMs) && settings.timeoutMs > 0)) {
    throw new SocksError("bad-field", `ident.timeoutMs ${settings.timeoutMs} is not a number of milliseconds > 0`);
  }
  return settings;
}

/**
 * Asks identd on `client`'s host about the connection `client` -> `local` and checks the user it reports against
 * `userId`. Resolves with the reported user on a match; rejects with a SocksError carrying CD 92 or 93.
 */
export async function identCheck(
  network: Network,
  client: Endpoint,
  local: Endpoint,
  userId: string,
  settings: IdentSettings,
  signal?: AbortSignal,
): Promise<string> {
  const deadline = startDeadline(settings.timeoutMs, signal);
  let response;
  try {
    const unreachable = (why: string, cause?: unknown) =>
      new SocksError("rejected", `IDENT: no answer from identd at ${client.hostname}:${settings.port}: ${why}`, {
        reply: Socks4Reply.IdentUnreachable,
        cause,
      });
    let connection;
    try {
      connection = await network.connect({ hostname: client.hostname, port: settings.port, signal: deadline.signal });
    } catch (error) {
      throw unreachable((error as Error).message, error);
    }
    const close = () => connection.close();
    deadline.signal.addEventListener("abort", close, { once: true });
    try {
      const writer = connection.writable.getWriter();
      await writer.write(encodeIdentQuery({ portOnServer: client.port, portOnClient: local.port }));
      response = await new ByteReader(connection.readable).read(decodeIdentResponse);
    } catch (error) {
      throw unreachable(
        deadline.signal.aborted ? `none within ${settings.timeoutMs} ms` : (error as Error).message,
        error,
      );
    } finally {
      deadline.signal.removeEventListener("abort", close);
      connection.close();
    }
  } finally {
    deadline.clear();
  }
  if (response.portOnServer !== client.port || response.portOnClient !== local.port) {
    throw new SocksError(
      "rejected",
      `IDENT: identd answered about ports ${response.portOnServer}, ${response.portOnClient}, not the ones asked`,
      { reply: Socks4Reply.IdentUnreachable },
    );
  }
  if (response.kind === "error") {
    throw new SocksError("auth-failed", `IDENT: identd did not confirm USERID "${userId}": ${response.error}`, {
      reply: Socks4Reply.IdentMismatch,
    });
  }
  if (response.user !== userId) {
    throw new SocksError("auth-failed", `IDENT: identd reports user "${response.user}", USERID is "${userId}"`, {
      reply: Socks4Reply.IdentMismatch,
    });
  }
  return response.user;
}
