import { readDomainFacts } from '../../src/core/domain-xml/read.js';
import { domainFixture } from './helpers.js';

/** A minimal domain around the given devices. */
function domain(devices: string, os = `<type arch='x86_64' machine='pc-q35-7.2'>hvm</type>`): string {
  return `<domain type='kvm'><name>t</name><os>${os}</os><devices>${devices}</devices></domain>`;
}

describe('readDomainFacts on libvirt-written domains', () => {
  test('old defaults: pc machine, ide disk and cdrom, cirrus, rtl8139, usb tablet', () => {
    expect(readDomainFacts(domainFixture('old-defaults-pc.xml'))).toEqual({
      osType: 'hvm',
      values: {
        hw_machine_type: 'pc-i440fx-2.11',
        hw_disk_bus: 'ide',
        hw_cdrom_bus: 'ide',
        hw_input_bus: 'usb',
        hw_pointer_model: 'usbtablet',
        hw_video_model: 'cirrus',
        hw_vif_model: 'rtl8139',
      },
      ignored: [],
    });
  });

  test('Nova-built q35: virtio everything, sata cdrom, virtio rng', () => {
    expect(readDomainFacts(domainFixture('nova-q35.xml'))).toEqual({
      osType: 'hvm',
      values: {
        hw_machine_type: 'pc-q35-7.2',
        hw_disk_bus: 'virtio',
        hw_cdrom_bus: 'sata',
        hw_input_bus: 'usb',
        hw_pointer_model: 'usbtablet',
        hw_video_model: 'virtio',
        hw_vif_model: 'virtio',
        hw_rng_model: 'virtio',
      },
      ignored: [],
    });
  });

  test('scsi guest: boot disk on scsi, virtio-scsi controller, e1000, vga', () => {
    expect(readDomainFacts(domainFixture('scsi-virtio-scsi.xml'))).toEqual({
      osType: 'hvm',
      values: {
        hw_machine_type: 'pc-i440fx-5.2',
        hw_disk_bus: 'scsi',
        hw_cdrom_bus: 'ide',
        hw_input_bus: 'usb',
        hw_pointer_model: 'usbtablet',
        hw_video_model: 'vga',
        hw_vif_model: 'e1000',
        hw_scsi_model: 'virtio-scsi',
      },
      ignored: [],
    });
  });
});

describe('readDomainFacts rules', () => {
  test('the disk with the lowest boot order is the root disk, else the first disk', () => {
    const twoDisks = (boot: string) =>
      domain(
        `<disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>` +
          `<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><boot order='1'/></disk>` +
          `<disk type='file' device='disk'><target dev='sdb' bus='scsi'/>${boot}</disk>`,
      );
    expect(readDomainFacts(twoDisks(`<boot order='2'/>`)).values.hw_disk_bus).toBe('scsi');
    expect(readDomainFacts(twoDisks('')).values.hw_disk_bus).toBe('virtio');
  });

  test('a disk without a device attribute is a disk (libvirt default); floppy is read', () => {
    const facts = readDomainFacts(domain(`<disk type='file'><target dev='hda' bus='ide'/></disk><disk device='floppy'><target dev='fda' bus='fdc'/></disk>`));
    expect(facts.values).toEqual({ hw_machine_type: 'pc-q35-7.2', hw_disk_bus: 'ide', hw_floppy_bus: 'fdc' });
  });

  test('values outside the Nova Zed enums are ignored with a reason, not stashed', () => {
    const facts = readDomainFacts(
      domain(
        `<interface type='network'><mac address='fa:16:3e:00:00:09'/><model type='virtio-transitional'/></interface>` +
          `<video><model type='ramfb'/></video>` +
          `<controller type='scsi' index='0' model='ncr53c90'/>` +
          `<rng model='virtio-non-transitional'><backend model='random'>/dev/urandom</backend></rng>` +
          `<disk device='disk'><target dev='vda' bus='nvme'/></disk>`,
      ),
    );
    expect(facts.values).toEqual({ hw_machine_type: 'pc-q35-7.2' });
    expect(facts.ignored.map((i) => [i.property, i.value, i.element])).toEqual([
      ['hw_disk_bus', 'nvme', 'disk vda'],
      ['hw_video_model', 'ramfb', 'video #1'],
      ['hw_vif_model', 'virtio-transitional', 'interface fa:16:3e:00:00:09'],
      ['hw_scsi_model', 'ncr53c90', 'controller scsi index 0'],
      ['hw_rng_model', 'virtio-non-transitional', 'rng #1'],
    ]);
    const nic = facts.ignored.find((i) => i.property === 'hw_vif_model')!;
    expect(nic.reason).toMatch(/not a Nova \(Zed\) VIFModel value/);
    expect(nic.reason).toMatch(/allowed: virtio, ne2k_pci, pcnet, rtl8139, e1000, e1000e/);
  });

  test('SCSI model auto or absent is libvirt choosing: no fact and nothing to report', () => {
    for (const c of [`<controller type='scsi' index='0' model='auto'/>`, `<controller type='scsi' index='0'/>`]) {
      const facts = readDomainFacts(domain(c));
      expect(facts.values.hw_scsi_model).toBeUndefined();
      expect(facts.ignored).toEqual([]);
    }
  });

  test('the VIF model comes from the first interface that has a model', () => {
    const facts = readDomainFacts(
      domain(`<interface type='hostdev'><source/></interface><interface type='bridge'><model type='e1000e'/></interface><interface type='bridge'><model type='virtio'/></interface>`),
    );
    expect(facts.values.hw_vif_model).toBe('e1000e');
  });

  test('a virtio tablet gives input bus virtio; no tablet gives no pointer facts; a mouse is not a pointer', () => {
    expect(readDomainFacts(domain(`<input type='tablet' bus='virtio'/>`)).values).toMatchObject({ hw_pointer_model: 'usbtablet', hw_input_bus: 'virtio' });
    const none = readDomainFacts(domain(`<input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/>`)).values;
    expect(none.hw_pointer_model).toBeUndefined();
    expect(none.hw_input_bus).toBeUndefined();
  });

  test('osType and machine type come from <os><type>; hw_rescue_bus is never read', () => {
    const lxc = readDomainFacts(`<domain type='lxc'><name>c</name><os><type>exe</type><init>/sbin/init</init></os><devices/></domain>`);
    expect(lxc).toEqual({ osType: 'exe', values: {}, ignored: [] });
    const all = readDomainFacts(domainFixture('scsi-virtio-scsi.xml'));
    expect(Object.keys(all.values)).not.toContain('hw_rescue_bus');
  });

  test('a machine type that is not a machine type name is ignored, however it was escaped', () => {
    const facts = readDomainFacts(domain('', `<type arch='x86_64' machine='pc&apos;&gt;&lt;x'>hvm</type>`));
    expect(facts.values.hw_machine_type).toBeUndefined();
    expect(facts.ignored).toEqual([{ property: 'hw_machine_type', value: `pc'><x`, element: 'os/type', reason: 'not a QEMU machine type name' }]);
  });

  test('not a domain: a clear error', () => {
    expect(() => readDomainFacts('<capabilities/>')).toThrow(/root element <capabilities>, expected <domain>/);
    expect(() => readDomainFacts('<domain><devices></domain>')).toThrow(/domain XML is not well-formed/);
  });
});
