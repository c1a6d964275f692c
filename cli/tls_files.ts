/**
 * `tabi serve --tls-cert FILE --tls-key FILE`: the files read and checked (each other's pair, PEM) at start and at
 * every SIGHUP, so that a missing, broken or mismatched file stops `serve` at start, and leaves a running server's
 * certificate in place on reload; every message names the flag (or config key) of the file at fault.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import type { TlsServerSettings } from "../lib/net/network.ts";
import { SocksError } from "../lib/wire/socks_error.ts";

/** The TLS files as the settings name them: the path and where it was given (flag or config key), each. */
export interface TlsFileSettings {
  /** The certificate chain file, and where it was named. */
  readonly cert?: { readonly path: string; readonly where: string };
  /** The private key file, and where it was named. */
  readonly key?: { readonly path: string; readonly where: string };
}

/**
 * Reads the certificate and key `files` name and checks that they make a TLS server (with the running runtime's
 * node:tls); undefined when neither is given. Throws a SocksError naming the flag at fault.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTlsFiles } from "./tls_files.ts";
 * assert.equal(await readTlsFiles({}), undefined);
 * await assert.rejects(readTlsFiles({ cert: { path: "/nonexistent.pem", where: "--tls-cert" } }), /--tls-key/);
 * await assert.rejects(
 *   readTlsFiles({
 *     cert: { path: "/nonexistent.pem", where: "--tls-cert" },
 *     key: { path: "/nonexistent.key", where: "--tls-key" },
 *   }),
 *   /--tls-cert \/nonexistent\.pem/,
 * );
 * ```
 */
export async function readTlsFiles(files: TlsFileSettings): Promise<TlsServerSettings | undefined> {
  const { cert, key } = files;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined) throw new SocksError("bad-field", `${key!.where} needs --tls-cert (the certificate) too`);
  if (key === undefined) throw new SocksError("bad-field", `${cert.where} needs --tls-key (its private key) too`);
  const read = async (file: { path: string; where: string }, what: string) => {
    try {
      return await readFile(file.path, "utf8");
    } catch (error) {
      throw new SocksError(
        "bad-field",
        `${file.where} ${file.path}: cannot read the ${what}: ${(error as Error).message}`,
      );
    }
  };
  const settings = { cert: await read(cert, "certificate"), key: await read(key, "private key") };
  if (!/-----BEGIN CERTIFICATE-----/.test(settings.cert)) {
    throw new SocksError("bad-field", `${cert.where} ${cert.path}: no PEM certificate in it`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(settings.key)) {
    throw new SocksError("bad-field", `${key.where} ${key.path}: no PEM private key in it`);
  }
  // node:tls is loaded only by a server that has a certificate.
  const { tlsServerContext } = await import("../lib/runtime/shared/stream_tls_server.ts");
  try {
    tlsServerContext(settings);
  } catch (error) {
    throw new SocksError(
      "bad-field",
      `${cert.where} ${cert.path} and ${key.where} ${key.path} do not make a TLS server: ${
        (error as Error).message.replace(/^TLS certificate and key: /, "")
      }`,
    );
  }
  return settings;
}
