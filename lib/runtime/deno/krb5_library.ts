/**
 * {@link NativeCalls} through Deno's FFI (`Deno.dlopen`; needs `--allow-ffi`, which `-A` includes).
 *
 * @module
 */
import { GSS_FUNCTIONS, GSSAPI_LIBRARY, type GssFunctionName, type NativeCalls } from "../shared/krb5_gssapi.ts";

/** Opens the system GSS-API library with Deno's FFI; throws when it cannot be loaded. */
export function denoGssCalls(): NativeCalls {
  const symbols = Object.fromEntries(
    Object.entries(GSS_FUNCTIONS).map(([name, arity]) => [
      name,
      { parameters: new Array(arity).fill("u64"), result: "u32" },
    ]),
  ) as Record<GssFunctionName, { parameters: "u64"[]; result: "u32" }>;
  const library = Deno.dlopen(GSSAPI_LIBRARY, symbols);
  const functions = library.symbols as unknown as Record<GssFunctionName, (...args: bigint[]) => number>;
  return {
    call: (name, args) => functions[name](...args),
    address: (buffer) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer as Uint8Array<ArrayBuffer>))),
    read(address, length) {
      const pointer = Deno.UnsafePointer.create(address);
      if (pointer === null) return new Uint8Array();
      return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, length)).slice();
    },
  };
}
