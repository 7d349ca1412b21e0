/**
 * `hwstash image-property` against a real database (SQLite file or MariaDB), through the CLI as
 * an operator runs it: every exit code and message path of list, show, set, history and revert,
 * each failure checked to leave instance_system_metadata and hwstash_property_history exactly as
 * they were; bulk set, including a run interrupted by SIGINT and run again. libvirt is the
 * in-process test driver here (no domain capabilities: the host part says "not checked"); the
 * checks against the real QEMU are in host-check.qemu.test.ts.
 */
import { QueryTypes } from 'sequelize';
import type { TestDialect } from '../store/databases.js';
import { cliWorld, PC_STASH, stashOf, type CliWorld, type Ran } from './helpers.js';

/**
 * Until the CLI waits for the instance's row lock: MariaDB's process list shows its
 * `SELECT … FOR UPDATE` of the instance; SQLite cannot be asked, so a pause long enough for the
 * CLI's checks to finish stands in.
 */
async function waitForLockWait(dialect: TestDialect, w: CliWorld, uuid: string): Promise<void> {
  if (dialect !== 'mariadb') {
    await new Promise((r) => setTimeout(r, 1500));
    return;
  }
  for (let i = 0; i < 500; i++) {
    const rows = await w.store.db.sequelize.query(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE '%FOR UPDATE%' AND INFO LIKE :like",
      { type: QueryTypes.SELECT, replacements: { like: `%${uuid}%` } },
    );
    if (Number((rows[0] as { n: number }).n) > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the CLI never waited for the row lock');
}

const KVM_BUSES = ['virtio', 'scsi', 'ide', 'usb', 'fdc', 'sata']; // RULES.md §1 bus_ok for kvm
const KVM_VIFS = ['virtio', 'ne2k_pci', 'pcnet', 'rtl8139', 'e1000', 'e1000e', 'spapr-vlan', 'vmxnet3']; // RULES.md §6

export function imagePropertySuite(dialect: TestDialect): void {
  describe(`hwstash image-property on ${dialect}`, () => {
    let w: CliWorld;

    beforeAll(async () => {
      w = await cliWorld(dialect);
    }, 60_000);
    afterAll(async () => {
      await w?.close();
    });

    /** Run a command that must fail, and check it wrote nothing. */
    async function refused(args: string[]): Promise<Ran> {
      const before = await w.dump();
      const r = await w.cli(args);
      expect(await w.dump()).toEqual(before);
      expect(r.stdout).toBe('');
      return r;
    }

    async function instance(over: { vmState?: string; host?: string; systemMetadata?: Record<string, string | null> } = {}): Promise<string> {
      const [uuid] = await w.seed([{ host: over.host ?? 'compute-1', vmState: over.vmState ?? 'stopped', systemMetadata: over.systemMetadata ?? { ...PC_STASH } }]);
      return uuid!;
    }

    async function softDelete(uuid: string): Promise<void> {
      await w.store.db.sequelize.query('UPDATE instances SET deleted = id, deleted_at = created_at WHERE uuid = :uuid', { replacements: { uuid } });
    }

    describe('list', () => {
      test('every one of the 11 properties: value, NULL, not stashed; Nova spellings shown canonical', async () => {
        const { image_hw_rescue_bus: _gone, ...rest } = PC_STASH;
        const uuid = await instance({ systemMetadata: { ...rest, image_hw_vif_model: 'VirtualE1000' } });
        const r = await w.cli(['image-property', 'list', uuid, '--format', 'json']);
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out.instance).toBe(uuid);
        expect(Object.keys(out.properties)).toHaveLength(11);
        expect(out.properties.hw_video_model).toEqual({ stashed: true, value: 'cirrus', raw: 'cirrus' });
        expect(out.properties.hw_vif_model).toEqual({ stashed: true, value: 'e1000', raw: 'VirtualE1000' });
        expect(out.properties.hw_scsi_model).toEqual({ stashed: true, value: null, raw: null });
        expect(out.properties.hw_rescue_bus).toEqual({ stashed: false, value: null, raw: null });

        const table = await w.cli(['image-property', 'list', uuid], { tty: true });
        expect(table.code).toBe(0);
        expect(table.stdout).toMatch(/hw_rescue_bus\s*│ not stashed/);
        expect(table.stdout).toMatch(/hw_scsi_model\s*│ NULL \(no such device\)/);
        expect(table.stdout).toMatch(/hw_vif_model\s*│ e1000 \(stored as VirtualE1000\)/);
      });

      test('an unknown or deleted instance: 2', async () => {
        const uuid = await instance();
        await softDelete(uuid);
        for (const u of [uuid, '00000000-0000-4000-8000-000000000000']) {
          const r = await refused(['image-property', 'list', u]);
          expect(r.code).toBe(2);
          expect(r.stderr).toContain(`instance ${u} not found`);
        }
      });
    });

    describe('show', () => {
      test('prints the bare value (canonical), or JSON', async () => {
        const uuid = await instance({ systemMetadata: { ...PC_STASH, image_hw_vif_model: 'VirtualE1000' } });
        expect(await w.cli(['image-property', 'show', uuid, 'hw_video_model'])).toEqual({ code: 0, stdout: 'cirrus\n', stderr: '' });
        expect(await w.cli(['image-property', 'show', uuid, 'hw_vif_model'])).toMatchObject({ code: 0, stdout: 'e1000\n' });
        const j = await w.cli(['image-property', 'show', uuid, 'hw_vif_model', '--format', 'json']);
        expect(JSON.parse(j.stdout)).toEqual({ instance: uuid, property: 'hw_vif_model', stashed: true, value: 'e1000', raw: 'VirtualE1000' });
      });

      test("not stashed, stashed as NULL or '', not one of the 11: 3 naming the property", async () => {
        const { image_hw_rng_model: _gone, ...rest } = PC_STASH;
        const uuid = await instance({ systemMetadata: { ...rest, image_hw_cdrom_bus: '' } });
        const notStashed = await refused(['image-property', 'show', uuid, 'hw_rng_model']);
        expect(notStashed.code).toBe(3);
        expect(notStashed.stderr).toMatch(new RegExp(`instance ${uuid}: image property hw_rng_model not found: not stashed`));
        const isNull = await refused(['image-property', 'show', uuid, 'hw_scsi_model']);
        expect(isNull.code).toBe(3);
        expect(isNull.stderr).toContain('image property hw_scsi_model not found: stashed as NULL');
        // nova-manage prints only a truthy value: an empty string is "not found" too.
        const empty = await refused(['image-property', 'show', uuid, 'hw_cdrom_bus']);
        expect(empty.code).toBe(3);
        expect(empty.stderr).toContain("image property hw_cdrom_bus not found: stashed as ''");
        const other = await refused(['image-property', 'show', uuid, 'hw_qemu_guest_agent']);
        expect(other.code).toBe(3);
        expect(other.stderr).toContain('"hw_qemu_guest_agent"');
        expect(other.stderr).toContain('allowed: hw_machine_type,');
      });

      test('an unknown or deleted instance: 2', async () => {
        const uuid = await instance();
        await softDelete(uuid);
        const r = await refused(['image-property', 'show', uuid, 'hw_disk_bus']);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`instance ${uuid} not found`);
      });
    });

    describe('set: the checks in nova-manage order, nothing written on any failure', () => {
      test('2: an unknown or deleted instance, whatever else is wrong', async () => {
        const uuid = await instance();
        await softDelete(uuid);
        const r = await refused(['image-property', 'set', uuid, '--property', 'hw_bogus']);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`instance ${uuid} not found`);
        expect(r.stderr).toContain('hw_bogus');
      });

      test('3: a vm_state other than stopped, shelved, shelved_offloaded; before the --property checks', async () => {
        for (const state of ['active', 'paused', 'error', 'building', 'suspended', 'rescued', 'resized']) {
          const uuid = await instance({ vmState: state });
          const r = await refused(['image-property', 'set', uuid, '--property', 'hw_disk_bus']);
          expect(r.code).toBe(3);
          expect(r.stderr).toContain(`instance ${uuid} is in vm_state ${state}`);
          expect(r.stderr).toContain('stopped, shelved, shelved_offloaded');
          expect(r.stderr).toContain('requested: hw_disk_bus');
        }
      });

      test('3: a Nova operation in progress (task_state), in an allowed vm_state: set and revert wait for it, nothing written', async () => {
        for (const [state, task] of [['stopped', 'powering-on'], ['shelved', 'shelving_offloading'], ['shelved_offloaded', 'unshelving']]) {
          const uuid = await instance({ vmState: state });
          await w.store.db.sequelize.query('UPDATE instances SET task_state = :task WHERE uuid = :uuid', { replacements: { uuid, task } });
          const r = await refused(['image-property', 'set', uuid, '--property', 'hw_video_model=vga', '--skip-host-check']);
          expect(r.code).toBe(3);
          expect(r.stderr).toContain(`instance ${uuid} has a Nova operation in progress (task_state ${task})`);
          const rv = await refused(['image-property', 'revert', uuid, '--skip-host-check']);
          expect(rv.code).toBe(3);
        }
      });

      test('4: no --property, an item without "=", a property given twice; before the names', async () => {
        const uuid = await instance();
        const none = await refused(['image-property', 'set', uuid]);
        expect(none.code).toBe(4);
        expect(none.stderr).toContain(`instance ${uuid}: no --property given`);
        const noEq = await refused(['image-property', 'set', uuid, '--property', 'hw_bogus=1', '--property', 'hw_disk_bus']);
        expect(noEq.code).toBe(4);
        expect(noEq.stderr).toContain('--property "hw_disk_bus" should use the format key=value');
        const twice = await refused(['image-property', 'set', uuid, '--property', 'hw_disk_bus=ide', '--property', 'hw_disk_bus=virtio']);
        expect(twice.code).toBe(4);
        expect(twice.stderr).toContain('hw_disk_bus is given twice ("ide" and "virtio")');
      });

      test('5: a name outside the 11 (even an image property Nova knows); before the values', async () => {
        const uuid = await instance();
        for (const name of ['hw_qemu_guest_agent', 'hw_bogus', '']) {
          const r = await refused(['image-property', 'set', uuid, '--property', 'hw_disk_bus=bogus', '--property', `${name}=x`]);
          expect(r.code).toBe(5);
          expect(r.stderr).toContain(`instance ${uuid}: --property: invalid image property name ${JSON.stringify(name)}`);
          expect(r.stderr).toContain('allowed: hw_machine_type, hw_cdrom_bus, hw_disk_bus');
        }
      });

      test("6: the enum of the Nova release in use: igb only from 2025.1 ([hwstash] nova_release)", async () => {
        const uuid = await instance();
        for (const [release, ok] of [['2024.2', false], ['2025.1', true]] as const) {
          const conf = w.writeConfig(`release-${release}.conf`, { extra: `[hwstash]\nnova_release = ${release}\n` });
          const args = ['--config-file', conf, 'image-property', 'set', uuid, '--property', 'hw_vif_model=igb', '--skip-host-check', '--dry-run'];
          const { run } = await import('./helpers.js');
          const r = await run(args);
          if (ok) {
            expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
            expect(r.stdout).toContain('igb');
          } else {
            expect(r.code).toBe(6);
            expect(r.stderr).toContain('hw_vif_model="igb" is not a valid VIFModel; allowed: virtio, ne2k_pci, pcnet, rtl8139, e1000, e1000e, netfront, spapr-vlan, lan9118, sriov, vmxnet, vmxnet3;');
          }
        }
      });

      test("6: not in Nova's enum after coercion (case matters where Nova's does)", async () => {
        const uuid = await instance();
        const cases: Array<[string, string, string]> = [
          ['hw_disk_bus', 'VIRTIO', 'fdc, ide, sata, scsi, usb, virtio, xen, lxc, uml'],
          ['hw_video_model', 'bogus', 'cirrus, qxl, vga, vmvga, xen, virtio, gop, none, bochs'],
          ['hw_vif_model', 'bogus', 'virtio, ne2k_pci, pcnet, rtl8139, e1000, e1000e, netfront, spapr-vlan, lan9118, sriov, vmxnet, vmxnet3, igb'],
          ['hw_pointer_model', 'ps2mouse', 'usbtablet'],
          ['hw_rng_model', '', 'virtio'],
          ['hw_machine_type', 'pc q35', 'letters, digits'],
        ];
        for (const [property, value, allowed] of cases) {
          const r = await refused(['image-property', 'set', uuid, '--property', `${property}=${value}`]);
          expect(r.code).toBe(6);
          expect(r.stderr).toContain(`instance ${uuid}: ${property}=${JSON.stringify(value)}`);
          expect(r.stderr).toContain(allowed);
          expect(r.stderr).toContain('nothing written');
        }
      });

      test("6: a value containing '=' (nova-manage cannot split it)", async () => {
        const uuid = await instance();
        const r = await refused(['image-property', 'set', uuid, '--property', 'hw_disk_bus=virtio=scsi']);
        expect(r.code).toBe(6);
        expect(r.stderr).toContain(`instance ${uuid}: hw_disk_bus="virtio=scsi": a value must not contain '='`);
      });

      test("6: a bus or NIC model this host's virt type cannot use (bus_ok, the VIF table)", async () => {
        const uuid = await instance();
        for (const [property, value] of [['hw_disk_bus', 'xen'], ['hw_cdrom_bus', 'uml'], ['hw_floppy_bus', 'lxc'], ['hw_rescue_bus', 'xen']]) {
          const r = await refused(['image-property', 'set', uuid, '--property', `${property}=${value}`]);
          expect(r.code).toBe(6);
          expect(r.stderr).toContain(`instance ${uuid}: ${property}=${value} is not valid for [libvirt] virt_type kvm; allowed for kvm: ${KVM_BUSES.join(', ')}`);
        }
        for (const vif of ['netfront', 'sriov', 'vmxnet', 'lan9118']) {
          const r = await refused(['image-property', 'set', uuid, '--property', `hw_vif_model=${vif}`]);
          expect(r.code).toBe(6);
          expect(r.stderr).toContain(`hw_vif_model=${vif} is not valid for [libvirt] virt_type kvm; allowed for kvm: ${KVM_VIFS.join(', ')}`);
        }
        // lan9118 is in the qemu list only: the same command on a qemu host writes it.
        const qemuConf = w.writeConfig('qemu.conf', { virtType: 'qemu' });
        const onQemu = await w.cli(['--config-file', qemuConf, 'image-property', 'set', uuid, '--property', 'hw_vif_model=lan9118']);
        expect(onQemu.code).toBe(0);
        expect((await stashOf(w.store, uuid))['hw_vif_model']).toBe('lan9118');
      });

      test("6: nova-manage's machine-type guards; --force overrides them", async () => {
        const refusedChange = async (from: string, to: string, why: string) => {
          const uuid = await instance({ systemMetadata: { ...PC_STASH, image_hw_machine_type: from } });
          const r = await refused(['image-property', 'set', uuid, '--property', `hw_machine_type=${to}`]);
          expect(r.code).toBe(6);
          expect(r.stderr).toContain(`instance ${uuid}: hw_machine_type=${to}: cannot update machine type ${from} to ${to}`);
          expect(r.stderr).toContain(why);
          expect(r.stderr).toContain('--force');
          return uuid;
        };
        const family = await refusedChange('pc', 'q35', 'family');
        await refusedChange('pc-i440fx-6.2', 'pc-q35-7.2', 'family');
        await refusedChange('pc', 'pc-i440fx-7.2', 'between an alias and a versioned type');
        await refusedChange('pc-q35-7.2', 'q35', 'between an alias and a versioned type');
        await refusedChange('pc-i440fx-7.2', 'pc-i440fx-2.11', 'older');
        await refusedChange('pc-q35-5.2', 'pc-q35-4.0.1', 'older');

        const upgrade = await instance({ systemMetadata: { ...PC_STASH, image_hw_machine_type: 'pc-i440fx-2.11' } });
        expect((await w.cli(['image-property', 'set', upgrade, '--property', 'hw_machine_type=pc-i440fx-7.2'])).code).toBe(0);
        expect((await stashOf(w.store, upgrade))['hw_machine_type']).toBe('pc-i440fx-7.2');

        const forced = await w.cli(['image-property', 'set', family, '--property', 'hw_machine_type=q35', '--force']);
        expect(forced.code).toBe(0);
        expect((await stashOf(w.store, family))['hw_machine_type']).toBe('q35');
      });

      test('0: every property in one transaction, canonical values, history with actor and reason; again: nothing to change', async () => {
        const uuid = await instance({ systemMetadata: { ...PC_STASH, image_hw_vif_model: 'VirtualE1000' } });
        const r = await w.cli([
          'image-property', 'set', uuid,
          '--property', 'hw_video_model=virtio', '--property', 'hw_vif_model=VIRTUALE1000E', '--property', 'hw_cdrom_bus=sata',
          '--reason', 'ticket 42', '--format', 'json',
        ]);
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout);
        expect(out).toMatchObject({ instance: uuid, dryRun: false, written: true });
        expect(out.changes).toEqual([
          { property: 'hw_cdrom_bus', old: { present: true, value: 'ide' }, new: { present: true, value: 'sata' }, changed: true },
          { property: 'hw_video_model', old: { present: true, value: 'cirrus' }, new: { present: true, value: 'virtio' }, changed: true },
          { property: 'hw_vif_model', old: { present: true, value: 'VirtualE1000' }, new: { present: true, value: 'e1000e' }, changed: true },
        ]);
        const stash = await stashOf(w.store, uuid);
        expect(stash).toMatchObject({ hw_video_model: 'virtio', hw_vif_model: 'e1000e', hw_cdrom_bus: 'sata', hw_disk_bus: 'virtio' });
        const history = await w.store.history(uuid);
        expect(history.map((h) => [h.property, h.oldValue, h.newValue, h.source, h.actor, h.reason])).toEqual([
          ['hw_cdrom_bus', 'ide', 'sata', 'set', 'tester (hwstash image-property set)', 'ticket 42'],
          ['hw_video_model', 'cirrus', 'virtio', 'set', 'tester (hwstash image-property set)', 'ticket 42'],
          ['hw_vif_model', 'VirtualE1000', 'e1000e', 'set', 'tester (hwstash image-property set)', 'ticket 42'],
        ]);
        // All three rows carry the same time: one write.
        expect(new Set(history.map((h) => h.time)).size).toBe(1);

        const before = await w.dump();
        const again = await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=virtio'], { tty: true });
        expect(again.code).toBe(0);
        expect(again.stdout).toContain('nothing to change');
        expect(await w.dump()).toEqual(before);
      });

      test('a property not stashed yet is added; shelved and shelved_offloaded are allowed too', async () => {
        const { image_hw_scsi_model: _gone, ...rest } = PC_STASH;
        for (const state of ['shelved', 'shelved_offloaded']) {
          const uuid = await instance({ vmState: state, systemMetadata: rest });
          const r = await w.cli(['image-property', 'set', uuid, '--property', 'hw_scsi_model=virtio-scsi', '--format', 'json']);
          expect(r.code).toBe(0);
          expect(JSON.parse(r.stdout).changes[0]).toMatchObject({ old: { present: false, value: null }, new: { present: true, value: 'virtio-scsi' } });
          const rows = (await w.store.systemMetadata(uuid)).filter((row) => row.key === 'image_hw_scsi_model');
          expect(rows).toEqual([expect.objectContaining({ value: 'virtio-scsi', deleted: 0 })]);
        }
      });

      test('a start of the instance between the checks and the write is seen under the row lock: 3, nothing written', async () => {
        const uuid = await instance();
        const before = await w.dump();
        // Another client (Nova starting the instance) has changed vm_state but not committed:
        // the CLI's checks read the committed "stopped", then its write waits for the lock.
        const t = await w.store.db.sequelize.transaction();
        let committed = false;
        try {
          await w.store.db.sequelize.query("UPDATE instances SET vm_state = 'active' WHERE uuid = :uuid", { replacements: { uuid }, transaction: t });
          const running = w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=vga']);
          await waitForLockWait(dialect, w, uuid);
          await t.commit();
          committed = true;
          const r = await running;
          expect(r.code).toBe(3);
          expect(r.stderr).toContain(`instance ${uuid} is in vm_state active`);
          // The check before the lock names the request; this one came from under the lock.
          expect(r.stderr).not.toContain('requested:');
        } finally {
          if (!committed) await t.rollback();
        }
        const after = await w.dump();
        expect(after).toEqual(before);
      }, 60_000);

      test('a delete of the instance between the checks and the write is seen under the row lock: 2, nothing written', async () => {
        const uuid = await instance();
        const before = await w.dump();
        const t = await w.store.db.sequelize.transaction();
        let committed = false;
        try {
          await w.store.db.sequelize.query('UPDATE instances SET deleted = id WHERE uuid = :uuid', { replacements: { uuid }, transaction: t });
          const running = w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=vga']);
          await waitForLockWait(dialect, w, uuid);
          await t.commit();
          committed = true;
          const r = await running;
          expect(r.code).toBe(2);
          expect(r.stderr).toContain(`instance ${uuid} not found`);
          expect(r.stderr).not.toContain('unexpected error');
        } finally {
          if (!committed) await t.rollback();
        }
        expect(await w.dump()).toEqual(before);
      }, 60_000);

      test('--dry-run writes nothing and shows old → new', async () => {
        const uuid = await instance();
        const before = await w.dump();
        const r = await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=vga', '--dry-run'], { tty: true });
        expect(r.code).toBe(0);
        expect(await w.dump()).toEqual(before);
        expect(r.stdout).toContain('dry run, nothing written');
        expect(r.stdout).toMatch(/hw_video_model\s*│ cirrus\s*│ vga/);
        // test:///default has no domain for it and no domain capabilities: said, not hidden.
        expect(r.stdout).toContain('no libvirt domain to compare');
        expect(r.stderr).toContain('not checked');
      });

      test('unusable arguments: an invalid --format, --where without --all, uuid with --all', async () => {
        const uuid = await instance();
        expect((await refused(['image-property', 'set', uuid, '--property', 'hw_disk_bus=ide', '--format', 'yaml'])).stderr).toContain('allowed: table, json');
        expect((await refused(['image-property', 'set', uuid, '--property', 'hw_disk_bus=ide', '--where', 'hw_disk_bus=virtio'])).stderr).toContain('--where needs --all');
        expect((await refused(['image-property', 'set', uuid, '--all', '--property', 'hw_disk_bus=ide'])).stderr).toContain('not both');
      });
    });

    test("1: hwstash's own tables were never created: set refuses, naming the fix, and writes nothing", async () => {
      const bare = await cliWorld(dialect, { migrate: false });
      try {
        const [uuid] = await bare.seed([{ host: 'compute-1', vmState: 'stopped', systemMetadata: { ...PC_STASH } }]);
        const before = await bare.dump();
        const r = await bare.cli(['image-property', 'set', uuid!, '--property', 'hw_video_model=vga']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("hwstash's own tables are missing");
        expect(r.stderr).toContain('hwstash db migrate');
        expect(await bare.dump()).toEqual(before);
      } finally {
        await bare.close();
      }
    }, 60_000);

    describe('history and revert', () => {
      test('history lists every write oldest first; revert undoes the latest write as a whole; --to goes back further', async () => {
        const uuid = await instance();
        expect((await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=vga'])).code).toBe(0);
        expect((await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=virtio', '--property', 'hw_disk_bus=scsi'])).code).toBe(0);

        const h = await w.cli(['image-property', 'history', uuid, '--format', 'json']);
        expect(h.code).toBe(0);
        const entries = JSON.parse(h.stdout).history as Array<{ id: number; property: string; oldValue: string; newValue: string }>;
        expect(entries.map((e) => [e.property, e.oldValue, e.newValue])).toEqual([
          ['hw_video_model', 'cirrus', 'vga'],
          ['hw_disk_bus', 'virtio', 'scsi'],
          ['hw_video_model', 'vga', 'virtio'],
        ]);
        const table = await w.cli(['image-property', 'history', uuid, '--property', 'hw_disk_bus'], { tty: true });
        expect(table.stdout).toMatch(/hw_disk_bus\s*│ virtio\s*│ scsi\s*│ set/);
        expect(table.stdout).not.toContain('hw_video_model');

        const undoLast = await w.cli(['image-property', 'revert', uuid, '--format', 'json']);
        expect(undoLast.code).toBe(0);
        expect(await stashOf(w.store, uuid)).toMatchObject({ hw_video_model: 'vga', hw_disk_bus: 'virtio' });

        const toFirst = entries[0]!.id;
        // Back to right after the first set: video stays vga; nothing else differs.
        const noop = await w.cli(['image-property', 'revert', uuid, '--to', String(toFirst), '--format', 'json']);
        expect(noop.code).toBe(0);
        expect(JSON.parse(noop.stdout).written).toBe(false);

        const all = await w.store.history(uuid);
        expect(all.slice(3).every((e) => e.source === 'revert' && e.actor === 'tester (hwstash image-property revert)')).toBe(true);
        expect(all.slice(3).map((e) => [e.property, e.oldValue, e.newValue])).toEqual([
          ['hw_disk_bus', 'scsi', 'virtio'],
          ['hw_video_model', 'virtio', 'vga'],
        ]);
        // A revert is a write like any other: reverting it restores what it undid.
        expect((await w.cli(['image-property', 'revert', uuid])).code).toBe(0);
        expect(await stashOf(w.store, uuid)).toMatchObject({ hw_video_model: 'virtio', hw_disk_bus: 'scsi' });
      });

      test('reverting the addition of a row removes it again (back to "not stashed")', async () => {
        const { image_hw_rescue_bus: _gone, ...rest } = PC_STASH;
        const uuid = await instance({ systemMetadata: rest });
        expect((await w.cli(['image-property', 'set', uuid, '--property', 'hw_rescue_bus=sata'])).code).toBe(0);
        expect((await stashOf(w.store, uuid))['hw_rescue_bus']).toBe('sata');
        expect((await w.cli(['image-property', 'revert', uuid])).code).toBe(0);
        expect(await stashOf(w.store, uuid)).not.toHaveProperty('hw_rescue_bus');
        expect((await w.store.history(uuid)).at(-1)).toMatchObject({ property: 'hw_rescue_bus', oldValue: 'sata', newPresent: false, source: 'revert' });
      });

      test('revert: same state rule (3), same machine-type guards (6), a --to that is no entry of the instance (4), not found (2)', async () => {
        const uuid = await instance();
        expect((await w.cli(['image-property', 'set', uuid, '--property', 'hw_machine_type=pc-i440fx-7.2', '--force'])).code).toBe(0);
        expect((await w.cli(['image-property', 'set', uuid, '--property', 'hw_machine_type=pc-i440fx-2.11', '--force'])).code).toBe(0);

        // Undoing the downgrade is an upgrade: allowed.
        expect((await w.cli(['image-property', 'revert', uuid])).code).toBe(0);
        expect((await stashOf(w.store, uuid))['hw_machine_type']).toBe('pc-i440fx-7.2');
        // Undoing that revert is a downgrade again: refused without --force.
        const downgrade = await refused(['image-property', 'revert', uuid]);
        expect(downgrade.code).toBe(6);
        expect(downgrade.stderr).toContain(`instance ${uuid}: hw_machine_type=pc-i440fx-2.11: cannot update machine type pc-i440fx-7.2 to pc-i440fx-2.11`);
        expect((await w.cli(['image-property', 'revert', uuid, '--force'])).code).toBe(0);
        expect((await stashOf(w.store, uuid))['hw_machine_type']).toBe('pc-i440fx-2.11');

        const other = await instance();
        expect((await w.cli(['image-property', 'set', other, '--property', 'hw_video_model=vga'])).code).toBe(0);
        const otherEntry = (await w.store.history(other))[0]!.id;
        const foreign = await refused(['image-property', 'revert', uuid, '--to', String(otherEntry)]);
        expect(foreign.code).toBe(4);
        expect(foreign.stderr).toContain(`instance ${uuid}: --to ${otherEntry}: no such history entry for this instance`);
        expect((await refused(['image-property', 'revert', uuid, '--to', 'last'])).code).toBe(4);

        await w.store.db.sequelize.query("UPDATE instances SET vm_state = 'active' WHERE uuid = :uuid", { replacements: { uuid } });
        const active = await refused(['image-property', 'revert', uuid, '--force']);
        expect(active.code).toBe(3);
        expect(active.stderr).toContain(`instance ${uuid} is in vm_state active`);

        expect((await refused(['image-property', 'revert', '00000000-0000-4000-8000-000000000000'])).code).toBe(2);
      });

      test('history: an unknown instance (2), an unknown --property (5)', async () => {
        expect((await refused(['image-property', 'history', '00000000-0000-4000-8000-000000000000'])).code).toBe(2);
        const uuid = await instance();
        const r = await refused(['image-property', 'history', uuid, '--property', 'hw_bogus']);
        expect(r.code).toBe(5);
        expect(r.stderr).toContain('invalid image property name "hw_bogus"; allowed: hw_machine_type');
      });

      test('nothing to revert: 0 and says so', async () => {
        const uuid = await instance();
        const r = await w.cli(['image-property', 'revert', uuid], { tty: true });
        expect(r).toMatchObject({ code: 0 });
        expect(r.stdout).toContain('nothing to revert');
      });
    });

    describe('bulk set --all', () => {
      async function fleet(host: string, specs: Array<{ vmState: string; video: string; machine?: string }>): Promise<string[]> {
        return w.seed(specs.map((s) => ({ host, vmState: s.vmState, systemMetadata: { ...PC_STASH, image_hw_video_model: s.video, image_hw_machine_type: s.machine ?? 'pc' } })));
      }

      test('changes every matching instance in an allowed state, skips and lists the others, leaves the rest alone', async () => {
        const [a, b, c, active, vga] = await fleet('bulk-a', [
          { vmState: 'stopped', video: 'cirrus' },
          { vmState: 'shelved_offloaded', video: 'cirrus' },
          { vmState: 'stopped', video: 'cirrus' },
          { vmState: 'active', video: 'cirrus' },
          { vmState: 'stopped', video: 'vga' },
        ]);
        const [elsewhere] = await fleet('bulk-b', [{ vmState: 'stopped', video: 'cirrus' }]);

        const before = await w.dump();
        const dry = await w.cli(['image-property', 'set', '--all', '--host', 'bulk-a', '--where', 'hw_video_model=cirrus', '--property', 'hw_video_model=virtio', '--dry-run', '--format', 'json']);
        expect(dry.code).toBe(0);
        expect(await w.dump()).toEqual(before);
        expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, seen: 5, matched: 4, changed: 3, skipped: 1 });

        const r = await w.cli(['image-property', 'set', '--all', '--host', 'bulk-a', '--where', 'hw_video_model=cirrus', '--property', 'hw_video_model=virtio', '--format', 'json']);
        expect(r.code).toBe(0);
        const s = JSON.parse(r.stdout);
        expect(s).toMatchObject({ host: 'bulk-a', dryRun: false, seen: 5, matched: 4, changed: 3, already: 0, skipped: 1, failed: 0, stoppedBy: null });
        expect(s.instances.find((i: { uuid: string }) => i.uuid === active)).toMatchObject({ outcome: 'skipped', detail: expect.stringContaining('vm_state active') });
        for (const u of [a, b, c]) expect((await stashOf(w.store, u!))['hw_video_model']).toBe('virtio');
        for (const u of [active, vga, elsewhere]) expect((await stashOf(w.store, u!))['hw_video_model']).toBe(u === vga ? 'vga' : 'cirrus');

        const table = await w.cli(['image-property', 'set', '--all', '--host', 'bulk-a', '--where', 'hw_video_model=cirrus', '--property', 'hw_video_model=virtio'], { tty: true });
        expect(table.stdout).toContain('host bulk-a: 5 instance(s) seen, 1 matched; 0 changed, 0 already so, 1 skipped, 0 failed');
        // On a terminal, a progress bar on stderr (never on stdout, which stays for the summary).
        expect(table.stderr).toMatch(/set .* 5\/5 instances \| 0 changed, 0 failed/);
      });

      test('a failing instance is listed with its reason, the others are changed, the exit code is non-zero', async () => {
        const [old1, q35, old2] = await fleet('bulk-c', [
          { vmState: 'stopped', video: 'cirrus', machine: 'pc-i440fx-2.11' },
          { vmState: 'stopped', video: 'cirrus', machine: 'pc-q35-5.2' },
          { vmState: 'stopped', video: 'cirrus', machine: 'pc-i440fx-4.2' },
        ]);
        const q35Before = await stashOf(w.store, q35!);
        const r = await w.cli(['image-property', 'set', '--all', '--host', 'bulk-c', '--where', 'hw_video_model=cirrus', '--property', 'hw_machine_type=pc-i440fx-7.2', '--format', 'json']);
        expect(r.code).toBe(6);
        const s = JSON.parse(r.stdout);
        expect(s).toMatchObject({ matched: 3, changed: 2, failed: 1 });
        expect(s.instances.find((i: { uuid: string }) => i.uuid === q35)).toMatchObject({ outcome: 'failed', exitCode: 6, detail: expect.stringContaining('family') });
        expect(await stashOf(w.store, q35!)).toEqual(q35Before);
        for (const u of [old1, old2]) expect((await stashOf(w.store, u!))['hw_machine_type']).toBe('pc-i440fx-7.2');
      });

      test('an instance deleted while it is being changed is skipped; the run goes on and sums up', async () => {
        const [gone, kept] = await fleet('bulk-g', [
          { vmState: 'stopped', video: 'cirrus' },
          { vmState: 'stopped', video: 'cirrus' },
        ]);
        const t = await w.store.db.sequelize.transaction();
        let committed = false;
        let r: Ran;
        try {
          await w.store.db.sequelize.query('UPDATE instances SET deleted = id WHERE uuid = :uuid', { replacements: { uuid: gone }, transaction: t });
          const running = w.cli(['image-property', 'set', '--all', '--host', 'bulk-g', '--where', 'hw_video_model=cirrus', '--property', 'hw_video_model=virtio', '--format', 'json']);
          await waitForLockWait(dialect, w, gone!);
          await t.commit();
          committed = true;
          r = await running;
        } finally {
          if (!committed) await t.rollback();
        }
        expect(r.code).toBe(0);
        const s = JSON.parse(r.stdout);
        expect(s).toMatchObject({ seen: 2, matched: 2, changed: 1, skipped: 1, failed: 0 });
        expect(s.instances.find((i: { uuid: string }) => i.uuid === gone)).toMatchObject({ outcome: 'skipped', detail: 'deleted while hwstash checked it' });
        expect((await stashOf(w.store, kept!))['hw_video_model']).toBe('virtio');
      }, 60_000);

      test('refused before any instance: bad --property (4/5/6), a --where no value can match (6), a bad --limit', async () => {
        await fleet('bulk-d', [{ vmState: 'stopped', video: 'cirrus' }]);
        const base = ['image-property', 'set', '--all', '--host', 'bulk-d'];
        expect((await refused([...base, '--property', 'hw_video_model'])).code).toBe(4);
        expect((await refused([...base, '--property', 'hw_bogus=1'])).code).toBe(5);
        expect((await refused([...base, '--property', 'hw_video_model=bogus'])).code).toBe(6);
        expect((await refused([...base, '--property', 'hw_disk_bus=xen'])).stderr).toContain('not valid for [libvirt] virt_type kvm');
        const where = await refused([...base, '--where', 'hw_video_model=CIRRUS', '--property', 'hw_video_model=virtio']);
        expect(where.code).toBe(6);
        expect(where.stderr).toContain('--where: hw_video_model="CIRRUS" is not a valid VideoModel');
        expect((await refused([...base, '--where', 'hw_video', '--property', 'hw_video_model=virtio'])).code).toBe(4);
        expect((await refused([...base, '--property', 'hw_video_model=virtio', '--limit', '0'])).stderr).toContain('--limit "0"');
      });

      test('--limit stops after N changes; running it again finishes the rest and reports those already so', async () => {
        const uuids = await fleet('bulk-e', Array.from({ length: 5 }, () => ({ vmState: 'stopped', video: 'cirrus' })));
        const args = ['image-property', 'set', '--all', '--host', 'bulk-e', '--where', 'hw_rng_model=virtio', '--property', 'hw_video_model=virtio', '--format', 'json'];
        const first = await w.cli([...args, '--limit', '2']);
        expect(first.code).toBe(0);
        expect(JSON.parse(first.stdout)).toMatchObject({ changed: 2, stoppedBy: 'limit' });
        const videos = async () => Promise.all(uuids.map(async (u) => (await stashOf(w.store, u))['hw_video_model']));
        expect(await videos()).toEqual(['virtio', 'virtio', 'cirrus', 'cirrus', 'cirrus']);
        const second = await w.cli(args);
        expect(second.code).toBe(0);
        expect(JSON.parse(second.stdout)).toMatchObject({ matched: 5, changed: 3, already: 2, stoppedBy: null });
        expect(await videos()).toEqual(['virtio', 'virtio', 'virtio', 'virtio', 'virtio']);
      });

      test('interrupted (SIGINT) mid-run: every instance complete or untouched; run again to finish', async () => {
        const n = 150;
        const uuids = await fleet('bulk-f', Array.from({ length: n }, () => ({ vmState: 'stopped', video: 'cirrus' })));
        const args = ['image-property', 'set', '--all', '--host', 'bulk-f', '--where', 'hw_rng_model=virtio', '--property', 'hw_video_model=virtio', '--property', 'hw_cdrom_bus=sata', '--format', 'json'];
        const countWritten = async () =>
          Number(
            ((await w.store.db.sequelize.query<{ n: number }>(
              `SELECT COUNT(*) AS n FROM ${w.store.db.own.table('hwstash_property_history')} WHERE property = 'hw_cdrom_bus' AND new_value = 'sata' AND instance_uuid IN (:uuids)`,
              { type: QueryTypes.SELECT, replacements: { uuids } },
            ))[0] as { n: number }).n,
          );
        // The signal is sent to this process once some instances are written, as Ctrl-C would.
        let sent = false;
        const poll = setInterval(() => {
          void countWritten().then((c) => {
            if (c >= 3 && !sent) {
              sent = true;
              process.emit('SIGINT');
            }
          });
        }, 5);
        let first: Ran;
        try {
          first = await w.cli(args);
        } finally {
          clearInterval(poll);
        }
        expect(sent).toBe(true);
        expect(first.code).toBe(130);
        const s = JSON.parse(first.stdout);
        expect(s.stoppedBy).toBe('interrupt');
        expect(s.changed).toBeGreaterThanOrEqual(3);
        expect(s.changed).toBeLessThan(n);

        const stashes = await Promise.all(uuids.map((u) => stashOf(w.store, u)));
        const done = stashes.filter((st) => st['hw_video_model'] === 'virtio' && st['hw_cdrom_bus'] === 'sata').length;
        const untouched = stashes.filter((st) => st['hw_video_model'] === 'cirrus' && st['hw_cdrom_bus'] === 'ide').length;
        expect(done + untouched).toBe(n);
        expect(done).toBe(s.changed);

        const second = await w.cli(args);
        expect(second.code).toBe(0);
        expect(JSON.parse(second.stdout)).toMatchObject({ matched: n, changed: n - done, already: done });
        const after = await Promise.all(uuids.map((u) => stashOf(w.store, u)));
        expect(after.every((st) => st['hw_video_model'] === 'virtio' && st['hw_cdrom_bus'] === 'sata')).toBe(true);
      }, 120_000);
    });
  });
}
