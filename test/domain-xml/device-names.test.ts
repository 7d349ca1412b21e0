import { busPrefix, deviceName, indexToSuffix, parseDeviceName, suffixToIndex } from '../../src/core/domain-xml/device-names.js';
import { askNova } from './oracle.js';

describe('device names', () => {
  test('index → suffix is Nova generate_device_name for every index Nova documents (0 … 18277)', () => {
    const indexes = Array.from({ length: 18278 }, (_, i) => i);
    const nova = askNova(indexes.map((index) => ({ kind: 'deviceName', prefix: 'vd', index })));
    const ours = indexes.map((i) => `vd${indexToSuffix(i)}`);
    const mismatches = indexes.filter((i) => ours[i] !== nova[i]).slice(0, 5);
    expect(mismatches).toEqual([]);
    expect(nova[18277]).toBe('vdzzz');
  });

  test('the well-known turning points', () => {
    expect([0, 1, 25, 26, 27, 51, 52, 701, 702].map(indexToSuffix)).toEqual(['a', 'b', 'z', 'aa', 'ab', 'az', 'ba', 'zz', 'aaa']);
  });

  test('suffix → index inverts it, and refuses what is not a suffix', () => {
    for (let i = 0; i < 20000; i += 7) expect(suffixToIndex(indexToSuffix(i))).toBe(i);
    expect(suffixToIndex('')).toBeNull();
    expect(suffixToIndex('A')).toBeNull();
    expect(suffixToIndex('a1')).toBeNull();
    expect(() => indexToSuffix(-1)).toThrow(RangeError);
    expect(() => indexToSuffix(1.5)).toThrow(RangeError);
  });

  test('bus prefixes agree with Nova get_dev_prefix_for_disk_bus for the buses Nova knows', () => {
    const buses = ['ide', 'virtio', 'scsi', 'usb', 'fdc', 'sata'];
    const nova = askNova(buses.map((bus) => ({ kind: 'devicePrefix', bus })));
    expect(buses.map(busPrefix)).toEqual(nova);
    // lxc has no disks, so no prefix (Nova returns None); xen and uml are libvirt's own names.
    expect(busPrefix('lxc')).toBeNull();
    expect(busPrefix('xen')).toBe('xvd');
    expect(busPrefix('uml')).toBe('ubd');
  });

  test('deviceName and parseDeviceName', () => {
    expect(deviceName('virtio', 0)).toBe('vda');
    expect(deviceName('sata', 26)).toBe('sdaa');
    expect(deviceName('ide', 3)).toBe('hdd');
    expect(() => deviceName('lxc', 0)).toThrow(/no device-name prefix/);
    expect(parseDeviceName('sdab')).toEqual({ prefix: 'sd', index: 27 });
    expect(parseDeviceName('xvda')).toEqual({ prefix: 'xvd', index: 0 });
    expect(parseDeviceName('hdd')).toEqual({ prefix: 'hd', index: 3 });
    expect(parseDeviceName('nvme0n1')).toBeNull();
    expect(parseDeviceName('vd')).toBeNull();
  });
});
