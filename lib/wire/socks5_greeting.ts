/**
 * RFC 1928 section 3 method negotiation: the client's greeting `VER NMETHODS METHODS` and the server's choice
 * `VER METHOD`.
 *
 * @module
 */
import { Socks5Method, SocksVersion } from "./constants.ts";
import { complete, type Decoded, needMore } from "./decoded.ts";
import { SocksError } from "./socks_error.ts";

/** A client's greeting: the authentication methods it offers, 1-255 of them, in its order. */
export interface Socks5Greeting {
  /** The method codes offered (0x00 no-auth, 0x02 username/password ...). */
  readonly methods: readonly number[];
}

/** The server's method selection; 0xFF means none of the offered methods is acceptable. */
export interface Socks5MethodSelection {
  /** The method chosen, or 0xFF for none. */
  readonly method: number;
}

/**
 * Encodes a greeting. Throws unless there are 1-255 methods, each a byte.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks5Greeting } from "./socks5_greeting.ts";
 * assert.deepEqual([...encodeSocks5Greeting({ methods: [0x00, 0x02] })], [5, 2, 0, 2]);
 * ```
 */
export function encodeSocks5Greeting(greeting: Socks5Greeting): Uint8Array {
  const { methods } = greeting;
  if (methods.length < 1 || methods.length > 255) {
    throw new SocksError("bad-methods", `a greeting offers 1-255 methods, not ${methods.length}`);
  }
  for (const method of methods) checkByte(method, "method");
  return new Uint8Array([SocksVersion.Socks5, methods.length, ...methods]);
}

/**
 * Decodes a greeting. NMETHODS = 0 is malformed (RFC 1928 says 1 to 255); errors carry reply 0xFF.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSocks5Greeting } from "./socks5_greeting.ts";
 * assert.deepEqual(decodeSocks5Greeting(new Uint8Array([5, 1])), { done: false, needed: 1 });
 * ```
 */
export function decodeSocks5Greeting(bytes: Uint8Array): Decoded<Socks5Greeting> {
  const reply = Socks5Method.NoAcceptable;
  if (bytes.length < 1) return needMore(3);
  if (bytes[0] !== SocksVersion.Socks5) {
    throw new SocksError("bad-version", `SOCKS5 greeting has version ${bytes[0]}, not 5`, { reply });
  }
  if (bytes.length < 2) return needMore(2);
  const count = bytes[1];
  if (count === 0) throw new SocksError("bad-methods", "SOCKS5 greeting offers no method", { reply });
  if (bytes.length < 2 + count) return needMore(2 + count - bytes.length);
  return complete({ methods: [...bytes.subarray(2, 2 + count)] }, 2 + count);
}

/**
 * Encodes the server's method selection `05 METHOD`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeSocks5MethodSelection } from "./socks5_greeting.ts";
 * assert.deepEqual(encodeSocks5MethodSelection({ method: 0x02 }), new Uint8Array([0x05, 0x02]));
 * ```
 */
export function encodeSocks5MethodSelection(selection: Socks5MethodSelection): Uint8Array {
  return new Uint8Array([SocksVersion.Socks5, checkByte(selection.method, "method")]);
}

/**
 * Decodes the server's method selection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSocks5MethodSelection } from "./socks5_greeting.ts";
 * assert.deepEqual(decodeSocks5MethodSelection(new Uint8Array([0x05, 0xff])), {
 *   done: true,
 *   value: { method: 0xff },
 *   consumed: 2,
 * });
 * assert.throws(() => decodeSocks5MethodSelection(new Uint8Array([0x04, 0x00])), { code: "bad-version" });
 * ```
 */
export function decodeSocks5MethodSelection(bytes: Uint8Array): Decoded<Socks5MethodSelection> {
  if (bytes.length >= 1 && bytes[0] !== SocksVersion.Socks5) {
    throw new SocksError("bad-version", `SOCKS5 method selection has version ${bytes[0]}, not 5`);
  }
  if (bytes.length < 2) return needMore(2 - bytes.length);
  return complete({ method: bytes[1] }, 2);
}

function checkByte(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 255) {
    throw new SocksError("bad-field", `${what} ${value} is not a byte`);
  }
  return value;
}
