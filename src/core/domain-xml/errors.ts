/** A domain XML that cannot be read, or a value that may not be written into one. */
export class DomainXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DomainXmlError';
  }
}
