/**
 * The one place where a failure becomes a reply code: SocksError codes to SOCKS5 REP (RFC 1928 section 6) and
 * SOCKS4 CD (91 for every rejection or failure, 92/93 for IDENT problems).
 *
 * @module
 */
import { Socks4Reply, type Socks4ReplyCode, Socks5Reply, type Socks5ReplyCode } from "../wire/constants.ts";
import { SocksError, type SocksErrorCode } from "../wire/socks_error.ts";

const SOCKS5_BY_CODE: Partial<Record<SocksErrorCode, Socks5ReplyCode>> = {
  "not-allowed": Socks5Reply.NotAllowed,
  "auth-failed": Socks5Reply.NotAllowed,
  // A spent quota is the server's own refusal, like a rule's: "connection not allowed by ruleset".
  "quota-exceeded": Socks5Reply.NotAllowed,
  "network-unreachable": Socks5Reply.NetworkUnreachable,
  "host-unreachable": Socks5Reply.HostUnreachable,
  "connection-refused": Socks5Reply.ConnectionRefused,
  "timeout": Socks5Reply.TtlExpired,
  "bad-command": Socks5Reply.CommandNotSupported,
  "unsupported": Socks5Reply.CommandNotSupported,
  "bad-address-type": Socks5Reply.AddressTypeNotSupported,
};

/** The SOCKS5 REP for a failure: the decoder's own reply if it gave one, else by error code, else 0x01. */
export function socks5ReplyFor(error: unknown): Socks5ReplyCode {
  if (error instanceof SocksError) {
    if (error.reply !== undefined && error.reply >= 0x01 && error.reply <= 0x08) return error.reply as Socks5ReplyCode;
    return SOCKS5_BY_CODE[error.code] ?? Socks5Reply.GeneralFailure;
  }
  return Socks5Reply.GeneralFailure;
}

/** The SOCKS4 CD for a failure: 92 or 93 when the error says so, 91 otherwise. */
export function socks4ReplyFor(error: unknown): Socks4ReplyCode {
  if (
    error instanceof SocksError &&
    (error.reply === Socks4Reply.IdentUnreachable || error.reply === Socks4Reply.IdentMismatch)
  ) return error.reply;
  return Socks4Reply.Rejected;
}
