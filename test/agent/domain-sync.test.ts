/**
 * DomainSync's check of a definition against this host's libvirt, with a stand-in gateway: what
 * libvirt refuses to describe is "not checked" (retrying cannot change it), as the operator
 * commands say it; a lost connection is still an error, so the event is retried.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { DomainSync } from '../../src/agent/domain-sync.js';
import { NOVA_DEFAULT_PROFILE } from '../../src/core/inputs.js';
import { HypervisorError, type Hypervisor } from '../../src/hypervisor/index.js';
import type { LiveInstance, Store } from '../../src/store/index.js';
import { storedProperties, sysmetaDict, type SysmetaRow } from '../../src/store/sysmeta.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const OLD_PC = fs.readFileSync(path.join(fixtures, 'domains/old-defaults-pc.xml'), 'utf8');
const DOMCAPS_PC = fs.readFileSync(path.join(fixtures, 'libvirt-9.0-qemu-7.2/domcaps-qemu-x86_64-pc.xml'), 'utf8');
const UUID = '0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10';

function live(sysmeta: Record<string, string | null>): LiveInstance {
  const rows: SysmetaRow[] = Object.entries(sysmeta).map(([key, value], i) => ({ id: i + 1, instanceUuid: UUID, key, value, deleted: 0 }));
  return {
    instance: { id: 42, uuid: UUID, vmState: 'stopped', architecture: null, vmMode: null } as LiveInstance['instance'],
    stored: storedProperties(sysmetaDict(rows)),
    sysmeta: rows,
  };
}

function sync(hv: Partial<Hypervisor>): DomainSync {
  return new DomainSync({
    // Every read comes from what the caller passes: the store is never asked.
    store: {} as Store,
    hypervisor: { uri: 'qemu:///system', persistentXml: async () => OLD_PC, ...hv } as Hypervisor,
    profile: { ...NOVA_DEFAULT_PROFILE, arch: 'x86_64' },
    logger: pino({ level: 'silent' }),
    instancesPath: '/var/lib/nova/instances',
    instanceNameTemplate: 'instance-%08x',
    rngDevPath: '/dev/urandom',
  });
}

// The stash moves the video model, so following it needs a new definition, which is checked.
const STASH = { image_hw_video_model: 'vga' };

describe('DomainSync: capabilities libvirt cannot give', () => {
  test.each([
    ['invalid', 'unknown machine type pc-i440fx-2.11'],
    ['unsupported', 'this function is not supported by the connection driver'],
  ] as const)('domain capabilities refused (%s): not checked, not an error', async (kind, message) => {
    const plan = await sync({
      domainCapabilities: async () => {
        throw new HypervisorError(kind, 'domainCapabilities', message);
      },
    }).plan(UUID, { live: live(STASH) });
    expect(plan!.changes.map((c) => c.property)).toContain('hw_video_model');
    expect(plan!.unsupported).toEqual([]);
    expect(plan!.notChecked).toEqual([
      `domain capabilities (machine pc-i440fx-2.11, arch x86_64) unavailable from qemu:///system: ${message}; device values not checked`,
    ]);
  });

  test.each(['invalid', 'unsupported'] as const)('host capabilities refused (%s): the machine type is not checked', async (kind) => {
    const plan = await sync({
      domainCapabilities: async () => DOMCAPS_PC,
      capabilities: async () => {
        throw new HypervisorError(kind, 'capabilities', 'no host capabilities here');
      },
    }).plan(UUID, { live: live(STASH) });
    expect(plan!.notChecked).toContain('hw_machine_type=pc-i440fx-2.11: host capabilities unavailable from qemu:///system: no host capabilities here');
  });

  test('a lost connection is still an error (the event is retried)', async () => {
    const lost = sync({
      domainCapabilities: async () => {
        throw new HypervisorError('connection', 'domainCapabilities', 'End of file while reading data');
      },
    });
    await expect(lost.plan(UUID, { live: live(STASH) })).rejects.toThrow('End of file while reading data');
  });
});
