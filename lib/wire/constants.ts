/**
 * Protocol constants, named from the standards: the SOCKS4 protocol text, SOCKS4a, RFC 1928 (SOCKS5),
 * RFC 1929 (username/password) and Tor's SOCKS extensions.
 *
 * @module
 */

/** SOCKS version numbers as they appear in the first byte of a request. */
export const SocksVersion = {
  Socks4: 0x04,
  Socks5: 0x05,
} as const;

/** SOCKS4 command codes (CD in a request). */
export const Socks4Command = {
  Connect: 0x01,
  Bind: 0x02,
} as const;
/** A SOCKS4 command code. */
export type Socks4CommandCode = typeof Socks4Command[keyof typeof Socks4Command];

/** SOCKS4 reply codes (CD in a reply). A reply's VN is always 0. */
export const Socks4Reply = {
  Granted: 90,
  Rejected: 91,
  IdentUnreachable: 92,
  IdentMismatch: 93,
} as const;
/** A SOCKS4 reply code. */
export type Socks4ReplyCode = typeof Socks4Reply[keyof typeof Socks4Reply];

/** The VN byte of every SOCKS4 reply. */
export const SOCKS4_REPLY_VERSION = 0x00;

/** RFC 1928 section 3 authentication method codes. 0x03-0x7F are IANA assigned, 0x80-0xFE private. */
export const Socks5Method = {
  NoAuth: 0x00,
  GssApi: 0x01,
  UserPass: 0x02,
  NoAcceptable: 0xff,
} as const;

/** RFC 1928 section 4 command codes, plus Tor's RESOLVE (0xF0) and RESOLVE_PTR (0xF1) extensions. */
export const Socks5Command = {
  Connect: 0x01,
  Bind: 0x02,
  UdpAssociate: 0x03,
  Resolve: 0xf0,
  ResolvePtr: 0xf1,
} as const;
/** A SOCKS5 command code. */
export type Socks5CommandCode = typeof Socks5Command[keyof typeof Socks5Command];

/** RFC 1928 section 6 reply codes (REP). 0x09-0xFF are unassigned. */
export const Socks5Reply = {
  Succeeded: 0x00,
  GeneralFailure: 0x01,
  NotAllowed: 0x02,
  NetworkUnreachable: 0x03,
  HostUnreachable: 0x04,
  ConnectionRefused: 0x05,
  TtlExpired: 0x06,
  CommandNotSupported: 0x07,
  AddressTypeNotSupported: 0x08,
} as const;
/** A SOCKS5 reply code. */
export type Socks5ReplyCode = typeof Socks5Reply[keyof typeof Socks5Reply];

/** RFC 1928 section 5 address types (ATYP). */
export const AddressType = {
  Ipv4: 0x01,
  Domain: 0x03,
  Ipv6: 0x04,
} as const;

/** RFC 1929 sub-negotiation version and status values. Any non-zero status is a failure. */
export const UserPass = {
  Version: 0x01,
  Success: 0x00,
  Failure: 0x01,
} as const;

/** The longest SOCKS5 domain name, RFC 1929 username or password: the length fits one byte. */
export const MAX_FIELD_LENGTH = 255;

/**
 * The longest SOCKS4 USERID and SOCKS4a hostname this codec accepts. The SOCKS4 text sets no limit, so a server
 * must choose one or buffer without end; 255 matches the SOCKS5 field limit.
 */
export const MAX_SOCKS4_FIELD_LENGTH = 255;
