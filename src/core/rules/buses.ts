/**
 * Disk, cdrom, floppy and rescue buses: `blockinfo.get_disk_bus_for_device_type` and the bus
 * choice of `LibvirtDriver.rescue()` (RULES.md §3).
 */
import { RuleError, busOk, busesFor, type Decided, type RuleContext, type Source } from './context.js';
import type { PropertyName } from '../properties.js';

export type BusDeviceType = 'disk' | 'cdrom' | 'floppy';

/** `blockinfo.SUPPORTED_DEVICE_TYPES`: the rescue devices Nova accepts (`fs` is refused). */
export const RESCUE_DEVICES: readonly string[] = ['disk', 'cdrom', 'floppy', 'lun'];

/** Guest arches whose cdrom defaults to scsi under kvm/qemu. */
const SCSI_CDROM_ARCHES = new Set(['ppc', 'ppc64', 'ppcle', 'ppc64le', 's390', 's390x', 'aarch64']);

function requested(ctx: RuleContext, device: BusDeviceType): { value: string; source: Source } | null {
  const { props } = ctx;
  if (device === 'disk') {
    if (props.hw_disk_bus !== undefined) return { value: props.hw_disk_bus, source: 'image' };
    const fromOs = ctx.osinfo?.diskModel ?? null;
    return fromOs === null ? null : { value: fromOs, source: 'osinfo' };
  }
  const value = device === 'cdrom' ? props.hw_cdrom_bus : props.hw_floppy_bus;
  return value === undefined ? null : { value, source: 'image' };
}

function driverDefault(ctx: RuleContext, device: BusDeviceType, machine: string | null): string | null {
  switch (ctx.host.virtType) {
    case 'kvm':
    case 'qemu':
      if (device === 'disk') return 'virtio';
      if (device === 'floppy') return 'fdc';
      if (SCSI_CDROM_ARCHES.has(ctx.arch)) return 'scsi';
      // q35 has no IDE controller; QEMU names a q35 machine per release, hence the substring.
      return machine && machine.includes('q35') ? 'sata' : 'ide';
    case 'lxc':
      return 'lxc';
    case 'parallels':
      return device === 'cdrom' ? 'ide' : device === 'disk' ? 'scsi' : null;
  }
}

/**
 * The bus for a device type. `machine` is the guest's effective machine type (the cdrom default
 * depends on it). Throws UnsupportedHardware when a requested bus is invalid for the virt type.
 */
export function deviceBus(ctx: RuleContext, device: BusDeviceType, machine: string | null, property: PropertyName): Decided {
  const want = requested(ctx, device);
  if (want) {
    if (!busOk(ctx.host.virtType, want.value)) {
      throw new RuleError('UnsupportedHardware', property, want.value, want.source, busesFor(ctx.host.virtType),
        `is not a ${device} bus virt_type ${ctx.host.virtType} supports`);
    }
    return want;
  }
  return { value: driverDefault(ctx, device, machine), source: 'driver' };
}

/**
 * hw_rescue_bus, with the image acting as its own rescue image. Legacy rescue (neither
 * hw_rescue_device nor hw_rescue_bus) uses the disk bus; stable-device rescue validates both.
 * `busOf` gives the instance's effective bus of a device type: after the stash, Nova reads the
 * rescue image's buses from system_metadata, so a stashed (or domain-given) disk bus carries over.
 */
export function rescueBus(ctx: RuleContext, busOf: (device: BusDeviceType) => Decided): Decided {
  const { props, host } = ctx;
  if (props.hw_rescue_device === undefined && props.hw_rescue_bus === undefined) return busOf('disk');
  if (host.virtType === 'lxc') {
    throw new RuleError('InstanceNotRescuable', 'hw_rescue_bus', props.hw_rescue_bus ?? props.hw_rescue_device ?? null, 'image', [],
      'cannot be used: stable device rescue is not supported by virt_type lxc');
  }
  const device = props.hw_rescue_device ?? 'disk';
  if (!RESCUE_DEVICES.includes(device)) {
    throw new RuleError('UnsupportedRescueDevice', 'hw_rescue_device', device, 'image', RESCUE_DEVICES,
      'is not a supported rescue device');
  }
  if (props.hw_rescue_bus !== undefined) {
    if (!busOk(host.virtType, props.hw_rescue_bus)) {
      throw new RuleError('UnsupportedRescueBus', 'hw_rescue_bus', props.hw_rescue_bus, 'image', busesFor(host.virtType),
        `is not a rescue bus virt_type ${host.virtType} supports`);
    }
    return { value: props.hw_rescue_bus, source: 'image' };
  }
  if (device === 'lun') {
    // Nova asks for the non-existent field hw_lun_bus here and crashes (AttributeError).
    throw new RuleError('UnsupportedRescueDevice', 'hw_rescue_device', device, 'image', RESCUE_DEVICES.filter((d) => d !== 'lun'),
      'needs hw_rescue_bus: Nova has no default bus for a lun rescue device');
  }
  return busOf(device as BusDeviceType);
}
