/**
 * Exit codes of every export-ops command, so a script can tell the cases apart.
 */
export const EXIT = {
  /** The command did what was asked. */
  done: 0,
  /** It failed (an error from the database, Storage, S3…); see stderr. */
  failed: 1,
  /** Bad usage or refused input: nothing was done. */
  usage: 2,
  /** A job stopped with work left (`more: true`): run it again. */
  workLeft: 3,
} as const;

/** The exit codes as every command's --help prints them. */
export const exitHelp = `exit codes: 0 done, 1 failed, 2 bad usage or refused input (nothing done), 3 stopped with work left (run again)\n`;
