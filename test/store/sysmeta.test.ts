/** Reading system_metadata the way Nova's utils.get_image_from_system_metadata does (pure). */
import { imagePropertiesFromSysmeta, storedProperties, sysmetaDict, type SysmetaRow } from '../../src/store/sysmeta.js';
import { planInstanceStash } from '../../src/store/stash-plan.js';
import { KVM_X86, OSINFO } from './fixtures.js';

const U = '6f1c1b9e-7a50-4f7e-9b1e-2c1d0c3e4a5b';
let nextId = 1;
const row = (key: string, value: string | null, deleted: number | null = 0, id = nextId++): SysmetaRow => ({ id, instanceUuid: U, key, value, deleted });

describe('sysmeta read the Nova way', () => {
  test('strips image_, skips NULLs, SM_SKIP_KEYS and SM_INHERITABLE_KEYS', () => {
    const dict = sysmetaDict([
      row('image_hw_disk_bus', 'scsi'),
      row('image_hw_video_model', null),
      row('image_min_ram', '512'),
      row('image_container_format', 'bare'),
      row('image_img_block_device_mapping', '[]'),
      row('image_mappings', '[]'),
      row('owner_project_name', 'demo'),
      row('image_os_distro', 'win10'),
    ]);
    expect(imagePropertiesFromSysmeta(dict)).toEqual({
      properties: { hw_disk_bus: 'scsi', owner_project_name: 'demo', os_distro: 'win10' },
      keys: { hw_disk_bus: 'image_hw_disk_bus', owner_project_name: 'owner_project_name', os_distro: 'image_os_distro' },
    });
  });

  test('every row counts, soft-deleted ones too, and the highest id wins for a key stored twice', () => {
    const dict = sysmetaDict([row('image_hw_vif_model', 'rtl8139', 0, 20), row('image_hw_vif_model', 'VirtualE1000', 0, 10), row('image_hw_cdrom_bus', 'sata', 7, 11)]);
    const stored = storedProperties(dict);
    expect(stored.hw_vif_model).toEqual({ present: true, raw: 'rtl8139', value: 'rtl8139' });
    expect(stored.hw_cdrom_bus).toEqual({ present: true, raw: 'sata', value: 'sata' });
    expect(stored.hw_disk_bus).toEqual({ present: false, raw: null, value: null });
  });

  test('stored values are read through Nova coercion; those it refuses carry the reason', () => {
    const stored = storedProperties(sysmetaDict([row('image_hw_vif_model', 'VirtualE1000'), row('image_hw_video_model', ''), row('image_hw_rng_model', null)]));
    expect(stored.hw_vif_model.value).toBe('e1000');
    expect(stored.hw_video_model).toMatchObject({ present: true, raw: '', value: null });
    expect(stored.hw_video_model.error).toContain('allowed: cirrus, qxl, vga, vmvga, xen, virtio, gop, none, bochs');
    expect(stored.hw_rng_model).toEqual({ present: true, raw: null, value: null });
  });

  test('a plan leaves present keys alone and resolves only the missing ones', () => {
    const plan = planInstanceStash({
      uuid: U,
      vmMode: null,
      rows: [row('image_os_distro', 'fedora36'), row('image_hw_machine_type', 'pc-q35-7.2'), row('image_hw_video_model', null)],
      profile: KVM_X86,
      osinfo: OSINFO,
      domain: null,
    });
    expect(plan.present).toEqual({ hw_machine_type: 'pc-q35-7.2', hw_video_model: null });
    expect(plan.toStash).toMatchObject({
      hw_cdrom_bus: { value: 'sata', source: 'driver' },
      hw_disk_bus: { value: 'virtio', source: 'osinfo' },
      hw_vif_model: { value: 'e1000e', source: 'osinfo' },
    });
    expect(plan.toStash.hw_video_model).toBeUndefined();
    expect(plan.errors).toEqual({});
  });
});
