/**
 * `npm run demo:upgrade`: the upgrade-survival figure replayed on the embedded defaults (a SQLite
 * file in a temporary directory, libvirt's in-process test driver) with a readable table. The real
 * proof is test/e2e/upgrade-survival.test.ts (real libvirtd, QEMU, MariaDB, Nova's own code); this
 * replays the same fleet for a newcomer in a few seconds.
 *
 * Needs Debian 12's osinfo-db (/usr/share/osinfo) and Debian 13's (the tree that
 * scripts/nova-2025.1-tree.sh builds; HWSTASH_OSINFO_AFTER points elsewhere).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Table from 'cli-table3';
import { pino } from 'pino';
import { findRelease } from '../core/releases.js';
import { Hypervisor } from '../hypervisor/index.js';
import { OsInfoIndex } from '../osinfo/index.js';
import { Store } from '../store/index.js';
import { formatByProperty, type HardwareChange } from './hardware.js';
import { replayUpgrade } from './replay.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CAPS = path.join(ROOT, 'test', 'fixtures', 'libvirt-9.0-qemu-7.2');
const BEFORE = process.env['HWSTASH_OSINFO_BEFORE'] ?? '/usr/share/osinfo';
const AFTER = process.env['HWSTASH_OSINFO_AFTER'] ?? '/var/cache/hwstash/nova-2025.1/usr/share/osinfo';

const short = (p: string) => p.replace(/^hw_/, '').replace(/_(model|bus|type)$/, '');
const changes = (cs: readonly HardwareChange[]) => cs.map((c) => `${short(c.property)} ${c.before ?? 'none'}→${c.after ?? 'none'}`).join(', ');

async function main(): Promise<number> {
  for (const dir of [BEFORE, AFTER]) {
    if (!fs.existsSync(dir)) {
      process.stderr.write(`no osinfo-db at ${dir}: install Debian's osinfo-db, and build the Debian 13 tree with scripts/nova-2025.1-tree.sh (or set HWSTASH_OSINFO_BEFORE / HWSTASH_OSINFO_AFTER)\n`);
      return 1;
    }
  }
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-upgrade-demo-'));
  const store = await Store.open(`sqlite:///${state}/hwstash.sqlite`);
  const hv = await Hypervisor.open('test:///default');
  try {
    const t0 = Date.now();
    const result = await replayUpgrade({
      store,
      hypervisor: hv,
      host: 'demo-host',
      osinfoBefore: await OsInfoIndex.load(BEFORE),
      osinfoAfter: await OsInfoIndex.load(AFTER),
      after: findRelease('2025.1')!,
      capabilitiesXml: fs.readFileSync(path.join(CAPS, 'capabilities-qemu-system.xml'), 'utf8'),
      domainCapabilitiesXml: {
        pc: fs.readFileSync(path.join(CAPS, 'domcaps-qemu-x86_64-pc.xml'), 'utf8'),
        q35: fs.readFileSync(path.join(CAPS, 'domcaps-qemu-x86_64-q35.xml'), 'utf8'),
      },
      logger: pino({ level: 'silent' }),
    });
    const table = new Table({ head: ['guest', 'without hwstash (Nova 2025.1 defaults)', 'with hwstash', 'agent power-on', 'new QEMU cannot run (reported)'], wordWrap: true, colWidths: [34, 50, 24, 14, 28], style: { head: [], border: [] } });
    for (const g of result.guests) {
      const withStash = g.withStash.length ? changes(g.withStash) : g.followsImage.length ? `image asks: ${changes(g.followsImage)}` : 'same';
      table.push([g.guest.name, changes(g.control) || 'same', withStash, `${g.powerOn}${g.drift ? `, ${g.drift} drift` : ''}`, g.cannotRun.join(', ') || '-']);
    }
    process.stdout.write(`${table.toString()}\n\n`);
    const n = result.guests.length;
    process.stdout.write(
      `${n} guests, upgrade Zed → 2025.1 and osinfo-db 2022 → 2025 (and QEMU 7.2 → 10.0's machine types): ` +
        `without hwstash ${result.control.guests} guests (${result.control.properties} properties: ${formatByProperty(result.control.byProperty)}) change hardware; ` +
        `with hwstash ${result.withStash.properties}.\n`,
    );
    const unexplained = result.guests.flatMap((g) => g.control.filter((c) => c.cause === null).map((c) => `${g.guest.name} ${c.property}`));
    const follow = result.guests.filter((g) => g.followsImage.length).length;
    process.stdout.write(
      `every change without hwstash has a documented cause${unexplained.length ? ` except: ${unexplained.join(', ')}` : ''}; ` +
        `${follow} guest(s) whose image asks for an unversioned machine type follow it; ` +
        `${result.guests.filter((g) => g.cannotRun.length).length} guest(s) use what the new QEMU dropped and are reported, not changed. ` +
        `(${Date.now() - t0} ms on a temporary SQLite database and libvirt test:///default; where Nova registered its own 7 defaults first, see the README)\n`,
    );
    return unexplained.length || result.withStash.properties ? 1 : 0;
  } finally {
    await hv.close();
    await store.close();
    fs.rmSync(state, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
