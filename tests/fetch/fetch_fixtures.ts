/**
 * Fixtures of the SOCKS fetch tests: local HTTP and HTTPS origins (on 127.0.0.1 and [::1] at one port, so a proxy
 * may resolve `localhost` either way), a throwaway CA made with openssl, socket counts from `ss`, and waiting.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { sleep } from "../helpers/net.ts";

/** A local web server on 127.0.0.1 and ::1. */
export interface Origin {
  /** The port, the same on both addresses. */
  readonly port: number;
  /** Connections open on it now (both addresses). */
  openConnections(): number;
  close(): Promise<void>;
}

/** The hex SHA-256 of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * What the origins answer: `/hello` 200 "hello from <path>", `POST /sum` the body's length and SHA-256 as JSON,
 * `/redirect` 302 to `/hello`, `/redirect-status/CODE` that status to `/method` (the method, body length and
 * content-type it got, as JSON), `/redirect-host/NAME` 302 to `/hello` at NAME (same port), `/missing` 404, `/bad-gateway` 502 (its own), `/drip` headers and then one chunk every 100 ms for a minute.
 */
function handler(request: http.IncomingMessage, response: http.ServerResponse): void {
  const url = request.url ?? "/";
  if (url === "/sum" && request.method === "POST") {
    const hash = createHash("sha256");
    let bytes = 0;
    request.on("data", (chunk: Uint8Array) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ bytes, sha256: hash.digest("hex") }));
    });
    return;
  }
  // `/redirect-status/CODE`: that redirect status to `/method`, which answers the method and body it got, so a test
  // sees what a redirect kept of the request (RFC 9110 section 15.4; fetch turns POST into GET on 301/302/303).
  const redirectStatus = /^\/redirect-status\/(30[12378])$/.exec(url);
  if (redirectStatus !== null) {
    request.resume();
    response.writeHead(Number(redirectStatus[1]), { location: "/method" });
    response.end();
    return;
  }
  if (url === "/method") {
    let bytes = 0;
    request.on("data", (chunk: Uint8Array) => void (bytes += chunk.length));
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ method: request.method, bytes, contentType: request.headers["content-type"] }));
    });
    return;
  }
  // `/redirect-host/NAME`: 302 to `/hello` on another host name at the same port, for redirects across names.
  if (url.startsWith("/redirect-host/")) {
    const port = (request.headers.host ?? "").replace(/^.*:/, "");
    response.writeHead(302, { location: `http://${url.slice("/redirect-host/".length)}:${port}/hello` });
    response.end();
    return;
  }
  if (url === "/redirect") {
    response.writeHead(302, { location: "/hello" });
    response.end();
    return;
  }
  if (url === "/missing" || url === "/bad-gateway") {
    const status = url === "/missing" ? 404 : 502;
    response.writeHead(status, { "content-type": "text/plain" });
    response.end(status === 404 ? "no such page" : "the origin's own 502");
    return;
  }
  if (url === "/drip") {
    response.writeHead(200, { "content-type": "text/plain" });
    response.write("first\n");
    let left = 600;
    const timer = setInterval(() => {
      if (--left === 0 || response.destroyed) {
        clearInterval(timer);
        response.end();
      } else response.write("more\n");
    }, 100);
    response.on("close", () => clearInterval(timer));
    return;
  }
  response.writeHead(200, { "content-type": "text/plain" });
  response.end(`hello from ${url}`);
}

type AnyServer = http.Server | https.Server;

function listen(server: AnyServer, hostname: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

async function dualStack(make: () => AnyServer): Promise<Origin> {
  for (let attempt = 0;; attempt++) {
    const v6 = make();
    const port = await listen(v6, "::1", 0);
    const v4 = make();
    try {
      await listen(v4, "127.0.0.1", port);
    } catch (error) {
      v6.close();
      if (attempt >= 20) throw error;
      continue;
    }
    const sockets = new Set<{ destroy(): void }>();
    for (const server of [v4, v6]) {
      server.on("connection", (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
    }
    return {
      port,
      openConnections: () => sockets.size,
      async close() {
        for (const socket of sockets) socket.destroy();
        await Promise.all([v4, v6].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      },
    };
  }
}

/** The plain HTTP origin. */
export function startOrigin(): Promise<Origin> {
  return dualStack(() => http.createServer(handler));
}

/** A throwaway CA and a certificate it signed for the names asked (localhost by default), 127.0.0.1 and ::1 (PEM). */
export interface TestPki {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Makes a CA and a server certificate with openssl in a temporary directory, then removes the directory. CAs
 * trusted side by side need names of their own (`caName`): a verifier picks the issuer by name.
 */
export function makePki(names: readonly string[] = ["localhost"], caName = "tabi test CA"): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "tabi-fetch-pki-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    ssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      `/CN=${caName}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
    ssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
    writeFileSync(
      join(dir, "ext"),
      `subjectAltName=${names.map((name) => `DNS:${name}`).join(",")},IP:127.0.0.1,IP:::1\n` +
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    ssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext",
    );
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    return { caPem: read("ca.pem"), certPem: read("server.pem"), keyPem: read("server.key") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The HTTPS origin, with the PKI's certificate. */
export function startTlsOrigin(pki: TestPki): Promise<Origin> {
  return dualStack(() => https.createServer({ key: pki.keyPem, cert: pki.certPem }, handler));
}

/** Established TCP connections on this machine with `port` at either end (from `ss`). */
export function establishedOn(port: number): number {
  const out = execFileSync("ss", ["-tnH", "state", "established", `( sport = :${port} or dport = :${port} )`], {
    encoding: "utf8",
  });
  return out.split("\n").filter((line) => line.trim() !== "").length;
}

/** The TCP ports this process listens on at 127.0.0.1 (from `ss`). */
export function ownListeningPorts(): Set<number> {
  const out = execFileSync("ss", ["-tlnpH"], { encoding: "utf8" });
  const ports = new Set<number>();
  for (const line of out.split("\n")) {
    if (!line.includes(`pid=${process.pid},`)) continue;
    const m = /\s127\.0\.0\.1:(\d+)\s/.exec(line);
    if (m) ports.add(Number(m[1]));
  }
  return ports;
}

/** Waits (up to `ms`) until `check` holds; returns whether it did. A bounded wait, not a timing assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await sleep(50);
  }
}
