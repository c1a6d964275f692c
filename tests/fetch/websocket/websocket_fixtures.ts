/** Fixtures of the socksWebSocket tests: python3-websockets' echo server (websocket_echo.py), and waiting on events. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SocksCloseEvent, SocksWebSocket } from "../../../mod.ts";
import { requirePeer } from "../../helpers/peers.ts";
import type { TestPki } from "../fetch_fixtures.ts";

/** A running echo server. */
export interface EchoServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the echo server (with TLS when given a PKI), on 127.0.0.1 and ::1 at one port. */
export function startEchoServer(pki?: TestPki): Promise<EchoServer> {
  requirePeer("/usr/lib/python3/dist-packages/websockets/__init__.py");
  const dir = mkdtempSync(join(tmpdir(), "tabi-ws-echo-"));
  const args = [join("tests", "fetch", "websocket_echo.py")];
  if (pki !== undefined) {
    writeFileSync(join(dir, "cert.pem"), pki.certPem);
    writeFileSync(join(dir, "key.pem"), pki.keyPem);
    args.push(join(dir, "cert.pem"), join(dir, "key.pem"));
  }
  // Debian's python3, where python3-websockets is installed.
  const child = spawn("/usr/bin/python3", args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the echo server did not start: ${stderr}`));
    }, 10_000);
    child.stdout.once("data", (chunk: Uint8Array) => {
      clearTimeout(timer);
      resolve({
        port: Number(new TextDecoder().decode(chunk).trim()),
        async close() {
          child.kill("SIGTERM");
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      });
    });
  });
}

/** Resolves once `ws` opens; rejects with the close event's reason if it closes first. */
export function opened(ws: SocksWebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("close", (event) => reject(new Error(`closed: ${(event as SocksCloseEvent).reason}`)), {
      once: true,
    });
  });
}

/** The next `message` event's data. */
export function nextMessage(ws: SocksWebSocket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onClose = (event: Event) => reject(new Error(`closed: ${(event as SocksCloseEvent).reason}`));
    ws.addEventListener("message", (event) => {
      ws.removeEventListener("close", onClose);
      resolve((event as MessageEvent).data);
    }, { once: true });
    ws.addEventListener("close", onClose, { once: true });
  });
}

/** The close event, and whether an error event came before it. */
export function closed(
  ws: SocksWebSocket,
): Promise<{ code: number; reason: string; wasClean: boolean; error: boolean }> {
  let error = false;
  ws.addEventListener("error", () => (error = true));
  return new Promise((resolve) => {
    ws.addEventListener("close", (event) => {
      const { code, reason, wasClean } = event as SocksCloseEvent;
      resolve({ code, reason, wasClean, error });
    }, { once: true });
  });
}

/** Bytes 0..n-1 of a fixed pattern. */
export function pattern(n: number, seed = 7): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}
