/**
 * What the runtimes' FFI calls of `setsockopt(2)` share: the C library's name, the call's shape, and the option
 * numbers used (Linux's <netinet/in.h>).
 *
 * @module
 */

/** The C library every runtime opens. */
export const LIBC = "libc.so.6";

/** Linux's numbers for the socket options set through FFI. */
export const SocketOption = {
  /** SOL_IP. */
  levelIp: 0,
  /** IP_TRANSPARENT (Linux 2.6.28): accept connections to addresses that are not this host's (TPROXY). */
  ipTransparent: 19,
} as const;

/** setsockopt(fd, level, name, value, value.length): 0, or -1 with errno set. */
export type SetSocketOption = (fd: number, level: number, name: number, value: Uint8Array) => number;
