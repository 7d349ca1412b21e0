/**
 * Errors of the bus adapter, and how the consumer classifies a handler's failure.
 *
 * A handler signals the kind of failure by a property on the error it throws, so any layer
 * (store, hypervisor) can mark its own errors without importing this module:
 * `permanent === true` goes to the dead-letter queue at once; anything else (including
 * `transient === true` and plain errors) is retried, since a retry is harmless for the
 * idempotent handlers and a wrongly dead-lettered event would never be applied.
 */

/** A message body that cannot be decoded; `reason` names the field and what was expected. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
  readonly permanent = true;
  constructor(readonly reason: string) {
    super(`malformed notification: ${reason}`);
  }
}

/** transport_url is not a usable rabbit URL; the message never contains a password. */
export class TransportUrlError extends Error {
  override readonly name = 'TransportUrlError';
}

/** The [oslo_messaging_rabbit] TLS files cannot be used; names the option and the file, never their content. */
export class BusConfigError extends Error {
  override readonly name = 'BusConfigError';
}

/** The bus is not connected (or has been closed); raised at once rather than queueing. */
export class BusUnavailableError extends Error {
  override readonly name = 'BusUnavailableError';
  readonly transient = true;
}

/** For handlers: a failure that a later attempt may not have (database busy, libvirt restart). */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** For handlers: a failure that no retry will fix (the event contradicts the database). */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly permanent = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * For handlers: stop without an outcome (the agent is shutting down while waiting for its
 * database). The message is neither acked nor dead-lettered; the broker redelivers it.
 */
export class AbandonError extends Error {
  override readonly name = 'AbandonError';
  readonly abandon = true;
}

export function isAbandon(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { abandon?: unknown }).abandon === true;
}

export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}

/** One line describing any thrown value, for headers and logs. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
