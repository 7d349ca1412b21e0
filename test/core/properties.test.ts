/**
 * The property table against RULES.md §0 and §1 and DESIGN.md "The properties": names, keys,
 * which ones Nova stashes, and each field's values, aliases and case rule.
 */
import {
  CoercionError,
  DISK_BUS_PROPERTIES,
  DISK_DEVICES,
  FIELD_TYPES,
  PROPERTIES,
  PROPERTY_NAMES,
  allowedText,
  busPropertyOf,
  coerceField,
  coerceProperty,
  diskDeviceOf,
  isDiskBusProperty,
  isPropertyName,
  propertySpec,
  specForKey,
  type PropertyName,
} from '../../src/core/properties.js';

const ELEVEN = ['hw_machine_type', 'hw_cdrom_bus', 'hw_disk_bus', 'hw_floppy_bus', 'hw_rescue_bus', 'hw_input_bus', 'hw_pointer_model',
  'hw_rng_model', 'hw_scsi_model', 'hw_video_model', 'hw_vif_model'];
// RULES.md §0: REGISTER_IMAGE_PROPERTY_DEFAULTS, in Nova's order.
const NOVA_STASHES = ['hw_machine_type', 'hw_cdrom_bus', 'hw_disk_bus', 'hw_input_bus', 'hw_pointer_model', 'hw_video_model', 'hw_vif_model'];

describe('the property table', () => {
  test('holds exactly the 11 properties, Nova\'s stash order first', () => {
    expect([...PROPERTY_NAMES].sort()).toEqual([...ELEVEN].sort());
    expect(PROPERTY_NAMES.slice(0, 7)).toEqual(NOVA_STASHES);
  });

  test('Nova stashes exactly the 7 of REGISTER_IMAGE_PROPERTY_DEFAULTS', () => {
    expect(PROPERTIES.filter((p) => p.novaStashes).map((p) => p.name)).toEqual(NOVA_STASHES);
  });

  test.each(ELEVEN)('%s is stored as image_%s', (name) => {
    expect(isPropertyName(name)).toBe(true);
    const spec = propertySpec(name as PropertyName);
    expect(spec.key).toBe(`image_${name}`);
    expect(specForKey(`image_${name}`)).toBe(spec);
  });

  test("the disk buses, from each property's device: which <disk device> each decides", () => {
    expect(DISK_BUS_PROPERTIES).toEqual(['hw_cdrom_bus', 'hw_disk_bus', 'hw_floppy_bus', 'hw_rescue_bus']);
    expect(PROPERTY_NAMES.filter(isDiskBusProperty)).toEqual(DISK_BUS_PROPERTIES);
    expect(DISK_BUS_PROPERTIES.map(diskDeviceOf)).toEqual(['cdrom', 'disk', 'floppy', 'disk']);
    expect(DISK_DEVICES).toEqual(['cdrom', 'disk', 'floppy']);
    // A domain's disk is the disk bus's, never the rescue bus's; a lun is no property's.
    expect(DISK_DEVICES.map((d) => busPropertyOf(d))).toEqual(['hw_cdrom_bus', 'hw_disk_bus', 'hw_floppy_bus']);
    expect(busPropertyOf('lun')).toBeUndefined();
    expect(busPropertyOf('constructor')).toBeUndefined();
  });

  test('other names and keys are not properties', () => {
    expect(isPropertyName('hw_nic_model')).toBe(false);
    expect(isPropertyName('image_hw_disk_bus')).toBe(false);
    expect(specForKey('hw_disk_bus')).toBeUndefined();
    expect(specForKey('image_hw_architecture')).toBeUndefined();
  });

  // [property, every allowed value] from RULES.md §1's table.
  const allowed: Array<[PropertyName, string[] | null]> = [
    ['hw_machine_type', null],
    ['hw_disk_bus', ['fdc', 'ide', 'sata', 'scsi', 'usb', 'virtio', 'xen', 'lxc', 'uml']],
    ['hw_cdrom_bus', ['fdc', 'ide', 'sata', 'scsi', 'usb', 'virtio', 'xen', 'lxc', 'uml']],
    ['hw_floppy_bus', ['fdc', 'ide', 'sata', 'scsi', 'usb', 'virtio', 'xen', 'lxc', 'uml']],
    ['hw_rescue_bus', ['fdc', 'ide', 'sata', 'scsi', 'usb', 'virtio', 'xen', 'lxc', 'uml']],
    ['hw_input_bus', ['usb', 'virtio']],
    ['hw_pointer_model', ['usbtablet']],
    ['hw_video_model', ['cirrus', 'qxl', 'vga', 'vmvga', 'xen', 'virtio', 'gop', 'none', 'bochs']],
    ['hw_vif_model', ['virtio', 'ne2k_pci', 'pcnet', 'rtl8139', 'e1000', 'e1000e', 'netfront', 'spapr-vlan', 'lan9118', 'sriov', 'vmxnet', 'vmxnet3']],
    ['hw_scsi_model', ['buslogic', 'ibmvscsi', 'lsilogic', 'lsisas1068', 'lsisas1078', 'virtio-scsi', 'vmpvscsi']],
    ['hw_rng_model', ['virtio']],
  ];
  test.each(allowed)('%s accepts exactly its enum', (name, values) => {
    const spec = propertySpec(name);
    expect(spec.type.values === null ? null : [...spec.type.values].sort()).toEqual(values === null ? null : [...values].sort());
    for (const v of values ?? ['pc', 'q35', '', 'anything at all']) expect(coerceProperty(name, v)).toBe(v);
    if (values) expect(allowedText(name)).toBe(spec.type.values!.join(', '));
  });

  // [property, raw, coerced or null for refused]
  const coercion: Array<[PropertyName, string, string | null]> = [
    ['hw_vif_model', 'VirtualE1000', 'e1000'],
    ['hw_vif_model', 'VIRTUALE1000E', 'e1000e'],
    ['hw_vif_model', 'virtualpcnet32', 'pcnet'],
    ['hw_vif_model', 'VirtualSriovEthernetCard', 'sriov'],
    ['hw_vif_model', 'VirtualVmxnet', 'vmxnet'],
    ['hw_vif_model', 'VirtualVmxnet3', 'vmxnet3'],
    ['hw_vif_model', 'E1000', 'e1000'],
    ['hw_vif_model', 'igb', null],
    ['hw_vif_model', 'virtio-transitional', null],
    ['hw_scsi_model', 'LsiLogicSAS', 'lsisas1068'],
    ['hw_scsi_model', 'paravirtual', 'vmpvscsi'],
    ['hw_scsi_model', 'BusLogic', 'buslogic'],
    ['hw_scsi_model', 'lsisas', null],
    ['hw_disk_bus', 'VIRTIO', null],
    ['hw_disk_bus', 'Virtio', null],
    ['hw_disk_bus', '', null],
    ['hw_cdrom_bus', 'nvme', null],
    ['hw_input_bus', 'USB', null],
    ['hw_pointer_model', 'ps2mouse', null],
    ['hw_pointer_model', 'USBTABLET', null],
    ['hw_video_model', 'VGA', null],
    ['hw_video_model', 'virtio-gpu', null],
    ['hw_rng_model', 'VIRTIO', null],
  ];
  test.each(coercion)('%s %j → %j', (name, raw, want) => {
    if (want === null) expect(() => coerceProperty(name, raw)).toThrow(CoercionError);
    else expect(coerceProperty(name, raw)).toBe(want);
  });

  test('a refusal names the field, the value and the allowed values', () => {
    expect(() => coerceProperty('hw_input_bus', 'ps2')).toThrow('hw_input_bus: "ps2" is not a valid InputBus; allowed: usb, virtio');
  });

  test('non-strings are refused', () => {
    for (const v of [5, null, undefined, true, ['virtio']]) expect(() => coerceProperty('hw_disk_bus', v)).toThrow(CoercionError);
  });

  // RULES.md §1: Architecture and VMMode (not properties, but inputs to the rules).
  const other: Array<[keyof typeof FIELD_TYPES, string, string | null]> = [
    ['Architecture', 'AMD64', 'x86_64'],
    ['Architecture', 'i386', 'i686'],
    ['Architecture', 'I486', 'i686'],
    ['Architecture', 'i586', 'i686'],
    ['Architecture', 'x86_32', 'i686'],
    ['Architecture', 'x86_32p', 'i686'],
    ['Architecture', 'PPC64LE', 'ppc64le'],
    ['Architecture', 'arm64', null],
    ['Architecture', 'x86', null],
    ['Architecture', 'riscv64', null],
    ['VMMode', 'pv', 'xen'],
    ['VMMode', 'HV', 'hvm'],
    ['VMMode', 'baremetal', 'hvm'],
    ['VMMode', 'EXE', 'exe'],
    ['VMMode', 'bogus', null],
    ['BlockDeviceType', 'fs', 'fs'],
    ['BlockDeviceType', 'LUN', null],
    ['String', '', ''],
  ];
  test.each(other)('%s %j → %j', (type, raw, want) => {
    if (want === null) expect(() => coerceField('f', FIELD_TYPES[type], raw)).toThrow(CoercionError);
    else expect(coerceField('f', FIELD_TYPES[type], raw)).toBe(want);
  });
});
