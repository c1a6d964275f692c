/**
 * Reading environment variables, the runtime-specific way (Deno.env needs --allow-env; a denied read is
 * treated as unset).
 *
 * @module
 */

/** The value of an environment variable, or undefined. */
export function getEnv(name: string): string | undefined {
  const global = globalThis as {
    Deno?: { env: { get(name: string): string | undefined } };
    process?: { env: Record<string, string | undefined> };
  };
  try {
    if (global.Deno !== undefined) return global.Deno.env.get(name);
    return global.process?.env[name];
  } catch {
    return undefined;
  }
}

/** Removes an environment variable from this process (and so from the children it starts); a denied change is ignored. */
export function deleteEnv(name: string): void {
  const global = globalThis as {
    Deno?: { env: { delete(name: string): void } };
    process?: { env: Record<string, string | undefined> };
  };
  try {
    if (global.Deno !== undefined) global.Deno.env.delete(name);
    else delete global.process?.env[name];
  } catch {
    // No permission to change the environment (Deno without --allow-env): it stays as it was.
  }
}
