/**
 * The one error type of the configuration layer. Its message is meant for an operator: it names
 * where the value came from (file or environment variable), the section and option, the value
 * (credentials redacted) and what is allowed.
 */
export interface ConfigErrorDetails {
  /** The file (or environment variable) the offending value came from. */
  readonly origin?: string;
  readonly line?: number;
  readonly section?: string;
  readonly option?: string;
}

export class ConfigError extends Error {
  readonly origin: string | undefined;
  readonly line: number | undefined;
  readonly section: string | undefined;
  readonly option: string | undefined;

  constructor(message: string, details: ConfigErrorDetails = {}) {
    super(message);
    this.name = 'ConfigError';
    this.origin = details.origin;
    this.line = details.line;
    this.section = details.section;
    this.option = details.option;
  }
}
