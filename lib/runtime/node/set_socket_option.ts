/**
 * `setsockopt(2)` under Node through the optional npm package `koffi` (Node has no FFI of its own), for the options
 * Node cannot set itself.
 *
 * @module
 */
import { SocksError } from "../../wire/socks_error.ts";
import { LIBC, type SetSocketOption } from "../shared/libc_socket.ts";

interface Koffi {
  load(path: string): { func(prototype: string): (...args: unknown[]) => number };
}

/** Opens the C library's setsockopt through koffi; throws SocksError "unsupported" when koffi is missing. */
export async function nodeSetSocketOption(): Promise<SetSocketOption> {
  let koffi: Koffi;
  try {
    // A computed specifier: the package is optional, and Deno and Bun never resolve it.
    const module = await import(["kof", "fi"].join("")) as { default?: Koffi } & Koffi;
    koffi = module.default ?? module;
  } catch (error) {
    throw new SocksError(
      "unsupported",
      `setting socket options under Node needs the npm package koffi (npm install koffi): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const setsockopt = koffi.load(LIBC).func(
    "int setsockopt(int fd, int level, int name, const void *value, uint32_t length)",
  );
  return (fd, level, name, value) => setsockopt(fd, level, name, value, value.length);
}
