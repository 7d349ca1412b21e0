/**
 * The host profile the pure core resolves against: the host's architecture plus the nova.conf
 * options the libvirt driver's defaults depend on.
 */
import os from 'node:os';
import { FIELD_TYPES, coerceField } from '../core/properties.js';
import type { HostProfile } from '../core/inputs.js';
import { ConfigError } from './errors.js';
import type { Settings } from './settings.js';

const ALLOWED = FIELD_TYPES.Architecture.values!.join(', ');

/**
 * `machine` is what `uname -m` says (os.machine() when absent). `[hwstash] host_arch` wins when
 * set. Either is canonicalised with Nova's Architecture coercion (amd64 → x86_64); a name Nova
 * rejects (arm64, riscv64) is a ConfigError, since Nova itself cannot run on such a host.
 */
export function hostProfileFromSettings(settings: Settings, machine: string = os.machine()): HostProfile {
  const configured = settings.hwstash.hostArch;
  const raw = configured !== '' ? configured : machine;
  let arch: string;
  try {
    arch = coerceField('host_arch', FIELD_TYPES.Architecture, raw);
  } catch {
    throw configured !== ''
      ? new ConfigError(`[hwstash] host_arch = ${configured} is not allowed; allowed: ${ALLOWED}`, { section: 'hwstash', option: 'host_arch' })
      : new ConfigError(`the host architecture ${machine} (uname -m) is not one Nova knows; set [hwstash] host_arch to one of: ${ALLOWED}`, {
          section: 'hwstash',
          option: 'host_arch',
        });
  }
  return {
    arch,
    virtType: settings.libvirt.virtType,
    machineTypes: settings.libvirt.hwMachineType,
    spiceEnabled: settings.spice.enabled,
    spiceAgentEnabled: settings.spice.agentEnabled,
    vncEnabled: settings.vnc.enabled,
    pointerModel: settings.pointerModel,
    useVirtioForBridges: settings.libvirt.useVirtioForBridges,
  };
}
