/**
 * Throwaway certificates made with `openssl` for TLS tests: a root CA (RSA), an intermediate CA, an ECDSA leaf for
 * `localhost` and 127.0.0.1 signed by the intermediate (its chain file holds leaf then intermediate), and an RSA
 * leaf signed by the root directly. Everything lives in a temporary directory the caller removes.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requirePeer } from "./peers.ts";

/** The files of a throwaway PKI. */
export interface TestPki {
  readonly dir: string;
  /** The root CA certificate (what clients trust). */
  readonly caCert: string;
  /** The ECDSA leaf, then the intermediate (a chain file). */
  readonly ecChain: string;
  readonly ecKey: string;
  /** An RSA leaf signed by the root. */
  readonly rsaCert: string;
  readonly rsaKey: string;
  /** The CA's PEM text. */
  readonly caPem: string;
  remove(): void;
}

/** Makes the PKI (a second or so of `openssl`). */
export function makeTestPki(): TestPki {
  const openssl = requirePeer("openssl");
  const dir = mkdtempSync(join(tmpdir(), "tabi-tls-"));
  const at = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync(openssl, args, { stdio: ["ignore", "ignore", "pipe"] });
  writeFileSync(at("ca.ext"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
  writeFileSync(
    at("leaf.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" +
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n",
  );
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    at("ca.key"),
    "-out",
    at("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=tabi test root",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  const sign = (name: string, subject: string, keyArgs: string[], issuer: string, ext: string) => {
    ssl("req", "-new", ...keyArgs, "-nodes", "-keyout", at(`${name}.key`), "-out", at(`${name}.csr`), "-subj", subject);
    ssl(
      "x509",
      "-req",
      "-in",
      at(`${name}.csr`),
      "-CA",
      at(`${issuer}.pem`),
      "-CAkey",
      at(`${issuer}.key`),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      at(ext),
      "-out",
      at(`${name}.pem`),
    );
  };
  sign("inter", "/CN=tabi test intermediate", ["-newkey", "rsa:2048"], "ca", "ca.ext");
  sign("ec", "/CN=localhost", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "inter", "leaf.ext");
  sign("rsa", "/CN=localhost", ["-newkey", "rsa:2048"], "ca", "leaf.ext");
  writeFileSync(at("ec_chain.pem"), readFileSync(at("ec.pem"), "utf8") + readFileSync(at("inter.pem"), "utf8"));
  return {
    dir,
    caCert: at("ca.pem"),
    ecChain: at("ec_chain.pem"),
    ecKey: at("ec.key"),
    rsaCert: at("rsa.pem"),
    rsaKey: at("rsa.key"),
    caPem: readFileSync(at("ca.pem"), "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
