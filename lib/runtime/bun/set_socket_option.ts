/**
 * `setsockopt(2)` through Bun's FFI (`bun:ffi`), for the options Bun cannot set itself.
 *
 * @module
 */
import { LIBC, type SetSocketOption } from "../shared/libc_socket.ts";

interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): {
    symbols: Record<string, (...args: unknown[]) => number>;
  };
}

/** Opens the C library's setsockopt; throws when it cannot be loaded. */
export async function bunSetSocketOption(): Promise<SetSocketOption> {
  // A computed specifier: other runtimes never resolve (or type-check) Bun's built-in module.
  const ffi = await import(["bun", "ffi"].join(":")) as BunFfi;
  const { setsockopt } = ffi.dlopen(LIBC, { setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" } })
    .symbols;
  return (fd, level, name, value) => setsockopt(fd, level, name, value, value.length);
}
