/**
 * Where the command line writes, passed to every subcommand so tests can run them in-process.
 *
 * @module
 */

/** Where the CLI writes: stdout and stderr. */
export interface CliOutput {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}
