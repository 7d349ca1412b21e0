export { Hypervisor, type DomainSummary, type DomainRunState, type HypervisorOptions } from './hypervisor.js';
export type { DomainCapabilitiesQuery } from './arguments.js';
export {
  HypervisorError,
  isHypervisorError,
  classifyLibvirtMessage,
  type HypervisorErrorKind,
} from './errors.js';
export { execFileVirsh, type VirshRunner, type VirshOutcome } from './virsh.js';
