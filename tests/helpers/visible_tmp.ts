/**
 * A fresh directory for files that a program run by `tabi run` or `tabi audit` must see or write: under the
 * repository's git-ignored tmp/, since such programs get private, empty /tmp, /var/tmp, /run and /dev/shm.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";

/** The repository's tmp/ (made if missing). */
export function visibleTmpRoot(): string {
  const root = join(import.meta.dirname ?? ".", "..", "..", "tmp");
  mkdirSync(root, { recursive: true });
  return root;
}

/** A new directory `tmp/PREFIXxxxxxx` in the repository. */
export function visibleTmp(prefix: string): string {
  return mkdtempSync(join(visibleTmpRoot(), prefix));
}
