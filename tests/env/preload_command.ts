/** How the tests run a script under the running runtime with the environment preload (env.ts) loaded first. */
import { join } from "node:path";
import process from "node:process";
import { runtimeName } from "../../mod.ts";

/** The command and arguments that run `script` under the running runtime, the preload first. */
export function preloadCommand(script: string): [string, string[]] {
  const preload = join(process.cwd(), "env.ts");
  const runtime = runtimeName();
  if (runtime === "deno") return [process.execPath, ["run", "-A", "--preload", preload, script]];
  if (runtime === "bun") return [process.execPath, ["--preload", preload, script]];
  return [process.execPath, ["--import", "tsx", "--import", preload, script]];
}
