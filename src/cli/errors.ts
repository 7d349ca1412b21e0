/** An error the CLI reports as one line and an exit code, never as a stack trace. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** nova-manage's exit codes for `image_property show|set`, which hwstash keeps. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  notFound: 2,
  /** show: property not set; set: instance state does not allow it. */
  notSetOrBadState: 3,
  badFormat: 4,
  unknownProperty: 5,
  invalidValue: 6,
  /** hwstash's own, past nova-manage's: move-check/what-if found a host that cannot run a stash. */
  cannotRun: 7,
} as const;

/** An option given as an empty string (`--host ''`) is a mistake, never "the default". */
export function requireNonEmpty(option: string, values: readonly (string | undefined)[]): void {
  for (const v of values) if (v !== undefined && v.trim() === '') throw new CliError(EXIT.unexpected, `${option}: must not be empty`);
}
