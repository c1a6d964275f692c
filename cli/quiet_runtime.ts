/**
 * The environment that keeps a runtime tabi starts itself (a worker, the audit's own re-run inside its namespace)
 * from looking anything up on its own: every `deno run` asks the resolver for `dl.deno.land` (its update check),
 * which the audit would blame on the audited program, and which a worker has no business doing either.
 *
 * @module
 */

/** Variables that turn off a runtime's or a tool's own network checks; set where tabi starts a runtime. */
export const QUIET_RUNTIME_ENV = {
  // Deno's update check (a DNS lookup and an HTTPS request to dl.deno.land on every `deno run`).
  DENO_NO_UPDATE_CHECK: "1",
  // npm's update notifier, in case a runtime is reached through an npm wrapper script.
  NO_UPDATE_NOTIFIER: "1",
} as const;

/** The variable that names what {@link quietEnvironment} added, so that the program's own environment can be restored. */
export const QUIET_ADDED_ENV = "TABI_QUIET_ADDED";

/**
 * `env` with those of {@link QUIET_RUNTIME_ENV} it does not set added; the names it added are listed in
 * {@link QUIET_ADDED_ENV}.
 */
export function quietEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  // A variable the user set keeps the user's value: it is theirs, and the program must see it unchanged.
  const added = Object.entries(QUIET_RUNTIME_ENV).filter(([name]) => out[name] === undefined);
  for (const [name, value] of added) out[name] = value;
  out[QUIET_ADDED_ENV] = added.map(([name]) => name).join(",");
  return out;
}

/**
 * `env` as it was before {@link quietEnvironment}: what it added is taken out again, so that a program tabi runs
 * (the audited one) sees the environment the user gave, and its own runtime's checks are its own.
 */
export function loudEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const added = new Set((env[QUIET_ADDED_ENV] ?? "").split(",").filter((name) => name !== ""));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && name !== QUIET_ADDED_ENV && !added.has(name)) out[name] = value;
  }
  return out;
}
