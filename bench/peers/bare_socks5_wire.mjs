// What the three bare servers (bare_socks5_deno.ts, _bun.mjs, _node.mjs) share: the bytes of the SOCKS5 handshake
// they understand, judged from what a client has sent so far. Plain JavaScript with no import, so that Deno, Bun and
// Node each run it as it is, and none of tabi's own code is in the floor it measures.

/** The method selection "no authentication required". */
export const NO_AUTH = new Uint8Array([5, 0]);

/**
 * Judges the greeting at the start of `bytes`: undefined while it is incomplete, else how long it is and whether it
 * offers "no authentication" (the only method a bare server takes; answer `[5, 0xff]` and close when not).
 */
export function readGreeting(bytes) {
  if (bytes.length < 2 || bytes.length < 2 + bytes[1]) return undefined;
  const length = 2 + bytes[1];
  return { length, acceptable: bytes[0] === 5 && bytes.subarray(2, length).includes(0) };
}

/** The answer to a greeting that does not offer "no authentication". */
export const NO_ACCEPTABLE_METHOD = new Uint8Array([5, 0xff]);

/**
 * Judges the request at the start of `bytes`: undefined while it is incomplete, `{ refusal }` (the reply to send
 * before closing) for anything but CONNECT to an IPv4 address, else `{ host, port, length }`.
 */
export function readRequest(bytes) {
  if (bytes.length < 4) return undefined;
  if (bytes[1] !== 1) return { refusal: reply(7) };
  if (bytes[3] !== 1) return { refusal: reply(8) };
  if (bytes.length < 10) return undefined;
  return { host: bytes.subarray(4, 8).join("."), port: bytes[8] << 8 | bytes[9], length: 10 };
}

/** The reply for a failed connect: 5 when the destination refused, 1 for any other failure. */
export function connectFailure(refused) {
  return reply(refused ? 5 : 1);
}

/** A SOCKS5 reply with an IPv4 bound address (0.0.0.0:0 when there is none). */
export function reply(code, host = "0.0.0.0", port = 0) {
  const out = new Uint8Array(10);
  out.set([5, code, 0, 1]);
  out.set(host.split(".").map(Number), 4);
  out[8] = port >> 8;
  out[9] = port & 0xff;
  return out;
}
