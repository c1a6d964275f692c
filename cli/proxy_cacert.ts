/**
 * `--proxy-cacert FILE` (curl's name): CA certificates to trust for the certificates of TLS proxies (`https://`,
 * `socks5h+tls://`, ...), besides the runtime's own store; on `tabi connect`, `tabi resolve` and for `tabi serve`'s
 * upstreams.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { SocksError } from "../lib/wire/socks_error.ts";

/**
 * Reads the file `--proxy-cacert` names; undefined when it is not given. Throws a SocksError naming the flag when
 * the file cannot be read or holds no PEM certificate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readProxyCa } from "./proxy_cacert.ts";
 * assert.equal(await readProxyCa(undefined), undefined);
 * await assert.rejects(readProxyCa("/nonexistent.pem"), /--proxy-cacert \/nonexistent\.pem/);
 * ```
 */
export async function readProxyCa(path: string | undefined, where = "--proxy-cacert"): Promise<string | undefined> {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new SocksError("bad-field", `${where} ${path}: ${(error as Error).message}`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) {
    throw new SocksError("bad-field", `${where} ${path}: no PEM certificate in it`);
  }
  return text;
}
