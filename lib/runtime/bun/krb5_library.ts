/**
 * {@link NativeCalls} through Bun's FFI (`bun:ffi`), imported only when running on Bun.
 *
 * @module
 */
import { GSS_FUNCTIONS, GSSAPI_LIBRARY, type GssFunctionName, type NativeCalls } from "../shared/krb5_gssapi.ts";

interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): {
    symbols: Record<string, (...args: bigint[]) => number>;
  };
  ptr(view: ArrayBufferView): number;
  toArrayBuffer(address: number, offset: number, length: number): ArrayBuffer;
}

/** Opens the system GSS-API library with Bun's FFI; throws when it cannot be loaded. */
export async function bunGssCalls(): Promise<NativeCalls> {
  // A computed specifier: other runtimes never resolve (or type-check) Bun's built-in module.
  const specifier = ["bun", "ffi"].join(":");
  const ffi = await import(specifier) as BunFfi;
  const symbols = Object.fromEntries(
    Object.entries(GSS_FUNCTIONS).map((
      [name, arity],
    ) => [name, { args: new Array(arity).fill("u64"), returns: "u32" }]),
  );
  const functions = ffi.dlopen(GSSAPI_LIBRARY, symbols).symbols as Record<GssFunctionName, (...a: bigint[]) => number>;
  return {
    call: (name, args) => functions[name](...args),
    address: (buffer) => BigInt(ffi.ptr(buffer)),
    read: (address, length) => new Uint8Array(ffi.toArrayBuffer(Number(address), 0, length)).slice(),
  };
}
