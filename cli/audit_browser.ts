/**
 * `tabi audit --browser`: the installed browser, headless, with a fresh profile configured for the audit proxy the
 * way a user would configure it, loading the audit URL once and exiting. A recipe is only ever run by cli/audit.ts
 * inside the audit's loopback-only namespace (`unshare --net --mount --pid`): a browser makes background requests
 * through any proxy and resolves names itself, so where no namespace can be made `--browser` refuses to run.
 *
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { UsageError } from "./usage_error.ts";

/** The browsers with a recipe. */
export type BrowserName = "chromium" | "firefox";

/** What a recipe runs. */
export interface BrowserRecipe {
  readonly command: string[];
  readonly env: Record<string, string>;
  /** Files to write before it runs: [path, text]. */
  readonly files: readonly (readonly [string, string])[];
}

/** The executables each browser goes by, in order of preference (Debian's names first). */
const EXECUTABLES: Readonly<Record<BrowserName, readonly string[]>> = {
  chromium: ["chromium", "chromium-browser", "google-chrome"],
  firefox: ["firefox-esr", "firefox"],
};

function findExecutable(names: readonly string[]): string | undefined {
  const path = (process.env.PATH ?? "").split(":").filter((d) => d !== "");
  for (const name of names) {
    for (const dir of path) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

/**
 * The command for `browser` with the proxy at `proxy` (`127.0.0.1:PORT`), loading `url`, with its profile and home
 * in `dir`. Throws UsageError when the browser is not installed.
 */
export function browserRecipe(
  browser: BrowserName,
  socksVersion: 4 | 5,
  remoteDns: "on" | "off" | undefined,
  proxy: string,
  url: string,
  dir: string,
): BrowserRecipe {
  const executable = findExecutable(EXECUTABLES[browser]);
  if (executable === undefined) {
    throw new UsageError(
      `--browser ${browser}: none of ${EXECUTABLES[browser].join(", ")} is installed (on Debian: apt-get install ` +
        `${browser === "chromium" ? "chromium" : "firefox-esr"})`,
    );
  }
  // A home of its own: nothing of the user's profile or caches is read or changed.
  const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, ".config"), XDG_CACHE_HOME: join(dir, ".cache") };
  if (browser === "chromium") {
    return {
      command: [
        executable,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${join(dir, "profile")}`,
        `--proxy-server=socks${socksVersion}://${proxy}`,
        "--dump-dom",
        url,
      ],
      env,
      files: [],
    };
  }
  const profile = join(dir, "profile");
  const [host, port] = [proxy.slice(0, proxy.lastIndexOf(":")), proxy.slice(proxy.lastIndexOf(":") + 1)];
  const prefs = [
    `user_pref("network.proxy.type", 1);`,
    `user_pref("network.proxy.socks", "${host}");`,
    `user_pref("network.proxy.socks_port", ${port});`,
    `user_pref("network.proxy.socks_version", ${socksVersion});`,
    // Left at Firefox's defaults unless asked: socks_remote_dns (SOCKS4, off) and socks5_remote_dns (on).
    ...(remoteDns === undefined ? [] : [
      `user_pref("network.proxy.socks_remote_dns", ${remoteDns === "on"});`,
      `user_pref("network.proxy.socks5_remote_dns", ${remoteDns === "on"});`,
    ]),
  ];
  return {
    command: [
      executable,
      "--headless",
      "--no-remote",
      "--profile",
      profile,
      "--screenshot",
      join(dir, "page.png"),
      url,
    ],
    env,
    files: [[join(profile, "user.js"), `${prefs.join("\n")}\n`]],
  };
}

/** Writes what a recipe needs on disk (Firefox's user.js) before it runs. */
export function writeRecipeFiles(recipe: BrowserRecipe): void {
  for (const [path, text] of recipe.files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}
