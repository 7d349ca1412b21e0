/**
 * A bounded, least-recently-used set of message ids whose effect is committed, so that a
 * redelivered message (its ack was lost with the connection) is acknowledged without running
 * its handler again. Bounded because redeliveries come soon after the loss; the handlers are
 * idempotent anyway, so an id that has aged out costs a repeated no-op, not a wrong result.
 */
export class RecentIds {
  private readonly ids = new Map<string, true>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity: must be a whole number ≥ 1, got ${capacity}`);
    }
  }

  has(id: string): boolean {
    if (!this.ids.has(id)) return false;
    this.ids.delete(id);
    this.ids.set(id, true);
    return true;
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.set(id, true);
    while (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next().value as string;
      this.ids.delete(oldest);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
