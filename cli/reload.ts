/**
 * SIGHUP: read the config file and the users file again and apply them to new connections. A file that fails to
 * parse (or settings the server refuses) leave the running configuration in place, and the log says why.
 *
 * @module
 */
import type { ServerOptions } from "../lib/server/config.ts";
import type { SocksServer } from "../lib/server/server.ts";
import type { ServeSettings } from "./serve_config.ts";
import { oneLine } from "./one_line.ts";

/**
 * Reloads `server` with the settings `readSettings` reads now; `toOptions` adds what the CLI adds (the log
 * callbacks). Never throws: a failure is logged and changes nothing.
 */
export async function reloadServer(
  server: SocksServer,
  readSettings: () => Promise<ServeSettings>,
  toOptions: (settings: ServeSettings) => ServerOptions | Promise<ServerOptions>,
  output: { readonly err: (text: string) => void },
  who = "tabi",
): Promise<boolean> {
  try {
    const settings = await readSettings();
    await server.reload(await toOptions(settings));
    const users = settings.options.users?.size ?? 0;
    const rules = settings.options.rules?.length ?? 0;
    output.err(
      `${who}: SIGHUP: reloaded (${users} user${users === 1 ? "" : "s"}, ${rules} rule${rules === 1 ? "" : "s"})\n`,
    );
    return true;
  } catch (error) {
    // One record, one line, whatever the message holds.
    output.err(
      `${who}: SIGHUP: reload failed, the running configuration stays: ${oneLine((error as Error).message)}\n`,
    );
    return false;
  }
}
