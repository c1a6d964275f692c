/**
 * The bench's throwaway TLS identity: a CA and a server certificate for 127.0.0.1 signed by it (ECDSA P-256, as a
 * proxy would use today), made with openssl at bench start. tabi serves the certificate (`--tls-cert`, `--tls-key`);
 * socksbench trusts the CA ($SOCKSBENCH_CA).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** The files of a throwaway TLS identity. */
export interface BenchCert {
  /** The CA certificate (PEM) that clients trust. */
  readonly ca: string;
  /** The server certificate (PEM), valid for IP 127.0.0.1 and DNS localhost. */
  readonly cert: string;
  /** The server's private key (PEM). */
  readonly key: string;
}

/** Makes a CA and a server certificate under `dir`, valid for two days. */
export function makeBenchCert(dir: string): BenchCert {
  const file = (name: string) => join(dir, name);
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=tabi bench CA",
  ]);
  openssl(["req", ...ec, "-keyout", file("key.pem"), "-out", file("server.csr"), "-subj", "/CN=localhost"]);
  writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl([
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("cert.pem"),
    "-days",
    "2",
    "-extfile",
    file("server.ext"),
  ]);
  return { ca: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem") };
}
