/**
 * The resolver: one pure function from what is known of an instance to the effective value and
 * source of each of the 11 properties (RULES.md §1–7 with §9's deliberate differences: every
 * property resolves on its own, and a live domain's devices win over computed defaults).
 */
import { ImageMetaError, canonicalVmMode, coerceImageProps, type ImageProps } from './image-meta.js';
import type { DomainFacts, HostProfile, InstanceFacts, OsInfoLookup } from './inputs.js';
import { PROPERTY_NAMES, VM_MODES, type PropertyName } from './properties.js';
import { RuleError, type Decided, type RuleContext, type RuleErrorCode, type Source } from './rules/context.js';
import { deviceBus, rescueBus } from './rules/buses.js';
import { machineType } from './rules/machine-type.js';
import { pointer, type PointerDecision } from './rules/pointer.js';
import { rngModel, scsiModel } from './rules/scsi-rng.js';
import { videoModel } from './rules/video.js';
import { vifModel } from './rules/vif.js';

export type { Decided, Source } from './rules/context.js';

export interface ResolveInput {
  /** Raw image properties: Glance-style strings, legacy names allowed, unknown keys ignored. */
  imageProperties: Readonly<Record<string, unknown>>;
  instance: InstanceFacts;
  host: HostProfile;
  /** The osinfo-db index; null when the database is not installed (driver defaults apply). */
  osinfo: OsInfoLookup | null;
  /** The devices of the instance's current libvirt domain, when it has one. */
  domain?: DomainFacts | null;
}

export interface ResolveFailure {
  code: RuleErrorCode;
  message: string;
  value: string | null;
  source: Source | 'instance';
  allowed: readonly string[];
}

export interface Resolution {
  /** Each property that resolved, in the property table's order. */
  properties: Partial<Record<PropertyName, Decided>>;
  /** Keyed by property, or by the first bad input key when the image properties are invalid. */
  errors: Record<string, ResolveFailure>;
}

function failure(err: RuleError): ResolveFailure {
  return { code: err.code, message: err.message, value: err.value, source: err.source, allowed: err.allowed };
}

/** The guest's `<os><type>`: the domain's when known, else instance.vm_mode, else by virt type. */
function guestOsType(input: ResolveInput): string {
  if (input.domain?.osType) return input.domain.osType;
  let mode: string | null;
  try {
    mode = canonicalVmMode(input.instance.vmMode);
  } catch {
    throw new RuleError('InvalidVirtualMachineMode', 'vm_mode', input.instance.vmMode, 'instance', VM_MODES,
      'is not a valid virtual machine mode');
  }
  return mode ?? (input.host.virtType === 'lxc' ? 'exe' : 'hvm');
}

export function resolve(input: ResolveInput): Resolution {
  let props: ImageProps;
  try {
    props = coerceImageProps(input.imageProperties, input.host.release);
  } catch (err) {
    if (!(err instanceof ImageMetaError)) throw err;
    const value = typeof err.value === 'string' ? err.value : err.value === undefined ? null : JSON.stringify(err.value);
    return {
      properties: {},
      errors: { [err.key]: { code: 'ValueError', message: err.message, value, source: 'image', allowed: [] } },
    };
  }

  const arch = props.hw_architecture ?? input.host.arch;
  const ctx: RuleContext = {
    props,
    host: input.host,
    osinfo: props.os_distro !== undefined && input.osinfo ? input.osinfo.lookup(props.os_distro) : null,
    arch,
    emuArch: props.hw_emulation_architecture ?? arch,
  };
  const seen = input.domain?.values ?? {};
  /**
   * Image first; then what the live domain uses; then the rule. Never the domain for the rescue
   * bus: a domain has a rescue disk only while rescued, so its disks say nothing about it
   * (readDomainFacts reports none), and the rule follows the disk bus the domain does show.
   */
  const decide = (name: PropertyName, rule: () => Decided): Decided => {
    if (name !== 'hw_rescue_bus' && props[name] === undefined) {
      const fromDomain = seen[name];
      if (fromDomain !== undefined) return { value: fromDomain, source: 'domain' };
    }
    return rule();
  };

  const machine = decide('hw_machine_type', () => machineType(ctx));
  let pointerDecision: PointerDecision | undefined;
  const pointerOnce = (): PointerDecision => (pointerDecision ??= pointer(ctx, guestOsType(input)));

  const rules: Record<PropertyName, () => Decided> = {
    hw_machine_type: () => machine,
    hw_cdrom_bus: () => deviceBus(ctx, 'cdrom', machine.value, 'hw_cdrom_bus'),
    hw_disk_bus: () => deviceBus(ctx, 'disk', machine.value, 'hw_disk_bus'),
    hw_floppy_bus: () => deviceBus(ctx, 'floppy', machine.value, 'hw_floppy_bus'),
    hw_rescue_bus: () => rescueBus(ctx, (device) => decided(`hw_${device}_bus`)),
    hw_input_bus: () => pointerOnce().inputBus,
    hw_pointer_model: () => pointerOnce().pointerModel,
    hw_rng_model: () => rngModel(ctx),
    hw_scsi_model: () => scsiModel(ctx),
    hw_video_model: () => videoModel(ctx),
    hw_vif_model: () => vifModel(ctx),
  };
  // Each property is decided once; the rescue bus reuses the disk, cdrom and floppy decisions.
  const memo = new Map<PropertyName, Decided | RuleError>();
  const decided = (name: PropertyName): Decided => {
    let r = memo.get(name);
    if (r === undefined) {
      try {
        r = decide(name, rules[name]);
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        r = err;
      }
      memo.set(name, r);
    }
    if (r instanceof RuleError) throw r;
    return r;
  };

  const result: Resolution = { properties: {}, errors: {} };
  for (const name of PROPERTY_NAMES) {
    try {
      result.properties[name] = decided(name);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      result.errors[name] = failure(err);
    }
  }
  return result;
}
