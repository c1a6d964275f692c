/** A mistake on the command line: the message names the flag or argument; the exit code is 2. */
export class UsageError extends Error {
  /** Makes an error whose message names the bad flag or argument. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The exit code for a usage error, as BSD sysexits and most CLIs use. */
export const USAGE_EXIT_CODE = 2;
