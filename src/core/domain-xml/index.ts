/** Domain XML: read what a domain uses, rewrite it to follow the stash, build a new one. */
export { DomainXmlError } from './errors.js';
export { readDomainFacts, type DomainReading, type IgnoredReading } from './read.js';
export { domainIdentity, type DomainIdentity } from './identity.js';
export { rewriteDomain, type Change, type RewriteOptions, type RewriteResult } from './rewrite.js';
export {
  buildDomain,
  type DiskSource,
  type DiskSpec,
  type DomainSpec,
  type InterfaceSpec,
} from './build.js';
export { canonicalStash, type Stash } from './stash.js';
export { busPrefix, deviceName, indexToSuffix, parseDeviceName, suffixToIndex } from './device-names.js';
export { isMachineTypeName, isUnversioned, machineFamily, machineSatisfies } from './machine-type.js';
export { DEFAULT_RNG_BACKEND } from './rng-backend.js';
