/**
 * {@link NativeCalls} under Node through the npm package `koffi` (3.x; it ships prebuilt binaries), which Node
 * needs for GSS-API: Node has no FFI of its own. It is not a dependency of the package: a Node application that
 * wants GSS-API installs it (`npm install koffi`); without it, loading fails with a message that says so.
 *
 * @module
 */
import { SocksError } from "../../wire/socks_error.ts";
import { GSS_FUNCTIONS, GSSAPI_LIBRARY, type GssFunctionName, type NativeCalls } from "../shared/krb5_gssapi.ts";

interface Koffi {
  load(path: string): { func(name: string, result: string, parameters: string[]): (...args: bigint[]) => number };
  address(value: ArrayBufferView): bigint;
  view(address: bigint, length: number): ArrayBuffer;
}

/** Opens the system GSS-API library through koffi; throws when koffi or the library cannot be loaded. */
export async function nodeGssCalls(): Promise<NativeCalls> {
  let koffi: Koffi;
  try {
    // A computed specifier: the package is optional, and Deno and Bun never resolve it.
    const specifier = ["kof", "fi"].join("");
    const module = await import(specifier) as { default?: Koffi } & Koffi;
    koffi = module.default ?? module;
  } catch (error) {
    throw new SocksError(
      "unsupported",
      `GSS-API under Node needs the npm package koffi, Node having no FFI of its own (npm install koffi): ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  const library = koffi.load(GSSAPI_LIBRARY);
  const functions = Object.fromEntries(
    Object.entries(GSS_FUNCTIONS).map(([name, arity]) => [
      name,
      library.func(name, "uint32", new Array(arity).fill("uint64")),
    ]),
  ) as Record<GssFunctionName, (...args: bigint[]) => number>;
  return {
    call: (name, args) => functions[name](...args),
    address: (buffer) => koffi.address(buffer),
    read: (address, length) => new Uint8Array(koffi.view(address, length)).slice(),
  };
}
