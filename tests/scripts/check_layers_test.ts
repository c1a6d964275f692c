import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { run } from "../helpers/process.ts";

const script = join(import.meta.dirname ?? ".", "..", "..", "scripts", "check_layers.mjs");
const roots: string[] = [];

/** Writes a throwaway tree (path -> source) and runs the check on it with Node. */
async function check(
  tree: Record<string, string>,
): Promise<{ code: number | null; problems: string[]; root: string }> {
  const root = await mkdtemp(join(tmpdir(), "tabi-layers-"));
  roots.push(root);
  for (const [path, text] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const result = await run("node", [script, root]);
  return { code: result.code, problems: result.stderr.split("\n").filter((line) => line !== ""), root };
}

const CLEAN: Record<string, string> = {
  "mod.ts": 'export { a } from "./lib/client/a.ts";\nimport { defaultNetwork } from "./lib/runtime/detect.ts";\n',
  "lib/client/a.ts":
    'import { b } from "../wire/b.ts";\n/** Names process and Deno.env in a comment: fine. */\nexport const a = b;\n',
  "lib/wire/b.ts": 'import { c } from "./c.ts";\nexport const b = c + " process Deno. node:net";\n',
  "lib/wire/c.ts": "export const c = `${/[\"'`]/.source} Bun.`;\n",
  "lib/runtime/detect.ts": 'import net from "node:net";\nexport const defaultNetwork = () => Deno ?? Bun ?? net;\n',
  "cli/main.ts": 'import process from "node:process";\nconst run = await import("../mod.ts");\n',
};

describe("scripts/check_layers.mjs", () => {
  after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

  it("passes a tree that keeps the rules (comments, strings and regexes do not count)", async () => {
    const { code, problems } = await check(CLEAN);
    assert.deepEqual(problems, []);
    assert.equal(code, 0);
  });

  it("names both ends of an import cycle, type-only and dynamic imports included", async () => {
    const { code, problems } = await check({
      ...CLEAN,
      "lib/server/session.ts": 'import { bind } from "./commands/bind.ts";\nexport const s = bind;\n',
      "lib/server/commands/bind.ts": '\nimport type { Session } from "../session.ts";\nexport const bind = 1;\n',
      "cli/run.ts": 'export const parse = 1;\nconst serve = () => import("./serve.ts");\n',
      "cli/serve.ts": 'import { parse } from "./run.ts";\n',
    });
    assert.equal(code, 1);
    assert.ok(problems.some((p) => p.includes("import cycle") && p.includes("lib/server/commands/bind.ts:2")));
    assert.ok(problems.some((p) => p.includes("import cycle") && p.includes("lib/server/session.ts:1")));
    assert.ok(problems.some((p) => p.includes("import cycle") && p.includes("cli/run.ts:2")));
  });

  it("refuses runtime globals and runtime modules in lib/ outside lib/runtime", async () => {
    const { code, problems } = await check({
      ...CLEAN,
      "lib/net/env.ts":
        '// fine: process\nexport const a = Deno.env.get("A");\nexport const b = globalThis.process?.env;\n',
      "lib/net/socket.ts": 'export const x = 1;\nimport net from "node:dgram";\n',
      "lib/server/pick.ts": 'import { defaultNetwork } from "../runtime/detect.ts";\n',
    });
    assert.equal(code, 1);
    assert.deepEqual(problems.filter((p) => !p.includes("import cycle")).sort(), [
      "lib/net/env.ts:2: uses the runtime global Deno; only lib/runtime/ may",
      "lib/net/env.ts:3: uses the runtime global process; only lib/runtime/ may",
      "lib/net/socket.ts:2: imports node:dgram, a runtime module; only lib/runtime/ may",
      "lib/server/pick.ts:1: imports lib/runtime/detect.ts; lib/ is handed its Network, chosen at the edges (mod.ts, cli/)",
    ]);
  });

  it("refuses a lib/wire import of anything outside lib/wire", async () => {
    const { code, problems } = await check({
      ...CLEAN,
      "lib/wire/d.ts": 'import { c } from "./c.ts";\nimport type { Network } from "../net.ts";\nexport const d = c;\n',
      "lib/net/network.ts": "export interface Network {}\n",
    });
    assert.equal(code, 1);
    assert.deepEqual(problems, [
      "lib/wire/d.ts:2: lib/wire imports ../net.ts; the codecs import nothing outside lib/wire",
    ]);
  });

  it("refuses an import that goes up the rooms, and a file of lib/ in no room", async () => {
    const { code, problems } = await check({
      ...CLEAN,
      "lib/server/route.ts": 'import { a } from "../client/a.ts";\nexport const route = a;\n',
      // The client under the server: importing it goes up (the fetch bridge once did this).
      "lib/client/bridge.ts": 'import { route } from "../server/route.ts";\nexport const bridge = route;\n',
      "lib/net/connect.ts": '\nimport type { Relay } from "../relay.ts";\nexport const c = 1;\n',
      "lib/relay.ts": "export interface Relay {}\n",
      "lib/loose.ts": "export const loose = 1;\n",
    });
    assert.equal(code, 1);
    assert.deepEqual(problems, [
      "lib/client/bridge.ts:1: imports lib/server/route.ts, which is up the rooms: lib/server/ stands above lib/client/",
      "lib/loose.ts: in no room of lib/; move it into one (ROOMS in scripts/check_layers.mjs)",
      "lib/net/connect.ts:2: imports lib/relay.ts, which is up the rooms: lib/relay.ts stands above lib/net/",
    ]);
  });

  it("names the rooms in order when all is well", async () => {
    const result = await run("node", [script, (await check(CLEAN)).root]);
    assert.match(
      new TextDecoder().decode(result.stdout),
      /rooms from the bottom: version\.ts < wire\/ < io\/ < time\/ < net\/ < gssapi\/ < relay\.ts < client\/ < server\/ < fetch\/ < audit\/ < runtime\/ < the edges/,
    );
  });
});
