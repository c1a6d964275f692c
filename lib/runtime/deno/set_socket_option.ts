/**
 * `setsockopt(2)` through Deno's FFI (needs `--allow-ffi`), for the options Deno cannot set itself.
 *
 * @module
 */
import { LIBC, type SetSocketOption } from "../shared/libc_socket.ts";

/** Opens the C library's setsockopt; throws when it cannot be loaded. */
export function denoSetSocketOption(): SetSocketOption {
  const library = Deno.dlopen(LIBC, {
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  });
  return (fd, level, name, value) =>
    library.symbols.setsockopt(fd, level, name, value as Uint8Array<ArrayBuffer>, value.length);
}
