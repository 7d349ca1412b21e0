/**
 * libvirt's domain states folded into the few a caller decides on: whether the guest is up,
 * stopped by the hypervisor, stopped for good, or somewhere in between.
 */
import { DomainState } from '@unraid/libvirt';

export type DomainRunState = 'running' | 'paused' | 'shutoff' | 'crashed' | 'other';

export function runStateOf(state: number): DomainRunState {
  switch (state) {
    case DomainState.RUNNING:
    case DomainState.BLOCKED: // running, waiting on a resource
      return 'running';
    case DomainState.PAUSED:
      return 'paused';
    case DomainState.SHUTOFF:
      return 'shutoff';
    case DomainState.CRASHED:
      return 'crashed';
    default:
      // NOSTATE, SHUTDOWN (still going down) and PMSUSPENDED (guest-initiated sleep) are
      // neither running nor safely stopped.
      return 'other';
  }
}
