/** One line of `hwstash defaults --batch`: bad lines become error lines, never exceptions. */
import { defaultsForLine, defaultsForObject } from '../../src/core/defaults-line.js';
import { NOVA_DEFAULT_PROFILE, type HostProfile } from '../../src/core/inputs.js';

const BASE: HostProfile = { arch: 'x86_64', ...NOVA_DEFAULT_PROFILE };

describe('defaultsForObject / defaultsForLine', () => {
  // [raw line, id expected, error key expected]
  const bad: Array<[string, string, unknown, string]> = [
    ['malformed JSON', '{"id": ', 3, 'input'],
    ['not an object', '[1,2]', 3, 'input'],
    ['image_properties not an object', '{"id":"x","image_properties":["hw_disk_bus"]}', 'x', 'image_properties'],
    ['instance not an object', '{"id":"x","instance":"hvm"}', 'x', 'instance'],
    ['instance.vm_mode not a string', '{"id":"x","instance":{"vm_mode":5}}', 'x', 'instance.vm_mode'],
    ['bad host arch', '{"id":"x","host":{"arch":"riscv64"}}', 'x', 'host.arch'],
    ['unknown conf option', '{"id":"x","conf":{"libvirt.bogus":1}}', 'x', 'conf.libvirt.bogus'],
    ['host checked before the image', '{"id":"x","host":{"virt_type":"xen"},"image_properties":{"hw_disk_bus":"bogus"}}', 'x', 'host.virt_type'],
  ];
  test.each(bad)('%s → InvalidInput on its key', (_n, line, id, key) => {
    const out = defaultsForLine(line, 3, BASE, null);
    expect(out.id).toEqual(id);
    expect(out.properties).toEqual({});
    expect(Object.keys(out.errors)).toEqual([key]);
    expect(out.errors[key]!.code).toBe('InvalidInput');
    expect(out.errors[key]!.message).toContain(key === 'input' ? 'line 3' : key);
  });

  test('a missing id is the line number; missing host, conf and instance take the base profile', () => {
    const out = defaultsForObject({ image_properties: { hw_architecture: 'aarch64' } }, 7, BASE, null);
    expect(out.id).toBe(7);
    expect(out.errors).toEqual({});
    expect(out.properties.hw_machine_type).toEqual({ value: 'virt', source: 'driver' });
    expect(out.properties.hw_input_bus).toEqual({ value: 'usb', source: 'config' });
    expect(Object.keys(out.properties)).toHaveLength(11);
  });

  test('invalid image properties: no properties, the first bad key', () => {
    const out = defaultsForObject({ id: 'i', image_properties: { hw_vif_model: 'igb', vm_mode: 'bogus' } }, 1, BASE, null);
    expect(out).toEqual({ id: 'i', properties: {}, errors: { vm_mode: { code: 'ValueError', message: expect.stringContaining('vm_mode') } } });
  });

  test('partial conf: the rest comes from the base', () => {
    const out = defaultsForObject({ id: 'p', conf: { 'spice.enabled': true } }, 1, { ...BASE, vncEnabled: false }, null);
    // spice + agent (base default true) + no VNC (base): the SPICE agent replaces the tablet.
    expect(out.properties.hw_pointer_model).toEqual({ value: null, source: 'driver' });
    expect(out.properties.hw_video_model).toEqual({ value: 'qxl', source: 'driver' });
  });
});
