/**
 * kill -9 at random moments during the reconcile of 2,000 instances, 20 times, alternating the
 * real `hwstash agent` process (its start-up reconcile) and the real `hwstash reconcile`
 * command; after each kill the other one is started and must finish the job.
 *
 * Some instances already have rows when the runs begin — Nova's raw spellings (`VirtualE1000`),
 * NULL values ("no such device"), other image keys, whole stashes — and those rows must come
 * through every kill byte for byte. After each kill: no (instance, key) twice, no row changed,
 * every instance either as it was or complete, and the completed ones whole batches in the
 * order a reconcile visits them (each batch is one transaction, so a kill never shows half of
 * one). After each restart: every instance complete, one history row per stashed property.
 *
 * The kill moments are random (seeded; HWSTASH_RELIABILITY_SEED replays a run): a delay drawn
 * after the first batch of the run is seen committed, up to the time a whole reconcile takes.
 * A kill that lands after the run already finished does not count as one of the 20; the next
 * moment is drawn instead.
 */
import { randomUUID } from 'node:crypto';
import { insertInstances, type NewInstance } from '../../src/store/seed.js';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { AgentHarness, sleep } from '../agent/helpers/harness.js';
import { figure, median } from './helpers/figures.js';
import { seededRandom, testSeed } from './helpers/seeded-random.js';
import { SideDb, changedRows, type SysmetaRow } from './helpers/side-db.js';

const INSTANCES = 2000;
const KILLS = 20;
/** Small enough that a kill usually lands between two of the ~100 batches of a run. */
const BATCH = 20;
const PROPERTIES = 11;

/** What some instances already have, as Nova (or an older hwstash, or an operator) left it. */
const PRESEEDED: Array<Record<string, string | null>> = [
  // Nova's copy of the image's properties: raw spelling, a NULL ("no SCSI controller"), other keys.
  { image_hw_vif_model: 'VirtualE1000', image_hw_scsi_model: null, image_os_distro: 'win10', image_min_ram: '0' },
  // Nova's own stash of an older release, with a NULL input bus.
  { image_hw_machine_type: 'pc-i440fx-2.11', image_hw_video_model: 'cirrus', image_hw_input_bus: null, image_hw_pointer_model: null },
  // A whole stash already: nothing may be added to it.
  {
    image_hw_machine_type: 'pc',
    image_hw_cdrom_bus: 'ide',
    image_hw_disk_bus: 'virtio',
    image_hw_input_bus: 'usb',
    image_hw_pointer_model: 'usbtablet',
    image_hw_video_model: 'cirrus',
    image_hw_vif_model: 'virtio',
    image_hw_floppy_bus: 'fdc',
    image_hw_rescue_bus: 'virtio',
    image_hw_scsi_model: null,
    image_hw_rng_model: 'virtio',
  },
  // An image that asked for IDE disks, and unrelated metadata.
  { image_hw_disk_bus: 'ide', image_hw_cdrom_bus: 'ide', image_base_image_ref: 'e6c3c6d4-1111-4a44-8f55-0123456789ab' },
];

type Kind = 'agent' | 'reconcile';

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

test('kill -9 at 20 random moments of a 2,000-instance reconcile: whole batches only, nothing doubled or overwritten, the restart completes every instance', async () => {
  const random = seededRandom(testSeed());
  const h = await AgentHarness.create({ hwstash: { batch_size: BATCH, log_level: 'info', publish_notifications: false } });
  const db = await SideDb.open(h.db.name);
  const live = new Set<AgentProcess>();
  const spawn = (kind: Kind): AgentProcess => {
    const p = AgentProcess.spawn(['--config-file', h.confFile, ...(kind === 'agent' ? ['agent'] : ['reconcile', '--format', 'json'])]);
    live.add(p);
    void p.exited.then(() => live.delete(p));
    return p;
  };
  try {
    const seeds: NewInstance[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      const pre = i % 4 === 1 ? PRESEEDED[(i >> 2) % PRESEEDED.length] : undefined;
      seeds.push({ uuid: randomUUID(), host: h.host, ...(pre ? { systemMetadata: pre } : {}) });
    }
    await insertInstances(h.store, seeds);
    const baseline = await db.sysmeta();
    const baselineMaxId = Math.max(...baseline.map((r) => r.id));
    const order = await db.instanceUuidsById();
    const baseCounts = await db.imageKeyCounts();
    // Instances that a reconcile has something to add to, and how many rows in all.
    const eligible = order.filter((u) => baseCounts.get(u)! < PROPERTIES);
    const expectedRows = eligible.reduce((n, u) => n + PROPERTIES - baseCounts.get(u)!, 0);
    expect(order).toHaveLength(INSTANCES);
    expect(eligible.length).toBeLessThan(INSTANCES);
    expect(baseline.filter((r) => r.value === null).length).toBeGreaterThan(0);

    const reset = async () => {
      await db.query('DELETE FROM instance_system_metadata WHERE id > ?', [baselineMaxId]);
      await db.query(`DELETE FROM ${db.historyTable}`);
    };
    const firstCommit = async (p: AgentProcess, since: number): Promise<number> => {
      for (;;) {
        if ((await db.query(`SELECT id FROM ${db.historyTable} LIMIT 1`)).length > 0) return Date.now() - since;
        if (p.child.exitCode !== null) throw new Error(`hwstash exited before its first commit: ${p.stderr}`);
        if (Date.now() - since > 60_000) throw new Error('no commit within 60 s');
        await sleep(5);
      }
    };
    /** Runs to the end: the agent until ready (then stopped), the command until it exits. */
    const runToEnd = async (kind: Kind): Promise<{ ms: number; stashed: number }> => {
      const started = Date.now();
      const p = spawn(kind);
      if (kind === 'agent') {
        await p.waitForLog('hwstash agent ready', 120_000);
        const ms = Date.now() - started;
        const done = p.find('reconcile done').find((l) => l['reason'] === 'agent start')!;
        p.kill('SIGTERM');
        expect((await p.exited).code).toBe(0);
        return { ms, stashed: Number(done['instances_stashed']) };
      }
      const exit = await p.exited;
      const ms = Date.now() - started;
      expect([exit.code, p.stderr]).toEqual([0, '']);
      // Its JSON summary is pretty-printed: the capture saw it line by line.
      const summary = JSON.parse(p.lines.map((l) => (l['unparsed'] ? String(l['msg']) : JSON.stringify(l))).join('\n')) as { instancesStashed: number; errors: unknown[] };
      expect(summary.errors).toEqual([]);
      return { ms, stashed: summary.instancesStashed };
    };

    /** Rows and history as they must be at any moment; returns the instances completed by hwstash. */
    const checkInvariants = async (when: string): Promise<string[]> => {
      const rows = await db.sysmeta();
      expect([when, changedRows(baseline, rows)]).toEqual([when, []]);
      expect([when, await db.duplicates()]).toEqual([when, []]);
      const added = rows.filter((r) => r.id > baselineMaxId);
      // hwstash only ever adds the 11 properties' rows, with deleted = 0.
      expect([when, added.filter((r) => !/^image_hw_/.test(r.key) || r.deleted !== 0)]).toEqual([when, []]);
      const counts = await db.imageKeyCounts();
      const completed = eligible.filter((u) => counts.get(u) === PROPERTIES);
      const partial = order.filter((u) => counts.get(u) !== PROPERTIES && counts.get(u) !== baseCounts.get(u));
      expect([when, partial]).toEqual([when, []]);
      // Whole batches, in visiting order: the completed instances are exactly those with work
      // in the first j batches.
      const batchOf = new Map(order.map((u, i) => [u, Math.floor(i / BATCH)]));
      const j = completed.length ? Math.max(...completed.map((u) => batchOf.get(u)!)) + 1 : 0;
      expect([when, completed.length]).toEqual([when, eligible.filter((u) => batchOf.get(u)! < j).length]);
      // One history row per added row, and only for added rows.
      const history = await db.history();
      const addedKeys = new Set(added.map((r: SysmetaRow) => `${r.instance_uuid} ${r.key}`));
      expect([when, history.length]).toEqual([when, added.length]);
      expect([when, history.filter((e) => e.source !== 'stash' || !addedKeys.has(`${e.instance_uuid} image_${e.property}`))]).toEqual([when, []]);
      return completed;
    };

    // How long a whole run takes here, for each kind: the kill moments are drawn within it.
    const window: Record<Kind, number> = { agent: 0, reconcile: 0 };
    for (const kind of ['agent', 'reconcile'] as const) {
      const started = Date.now();
      const p = spawn(kind);
      const first = await firstCommit(p, started);
      if (kind === 'agent') await p.waitForLog('hwstash agent ready', 120_000);
      else await p.exited;
      window[kind] = Date.now() - started - first;
      p.kill('SIGTERM');
      await p.exited;
      await checkInvariants(`calibration ${kind}`);
      await reset();
    }

    const moments: number[] = [];
    const landedAfter: number[] = [];
    const restartMs: number[] = [];
    let missed = 0;
    let kills = 0;
    while (kills < KILLS) {
      if (kills + missed >= KILLS * 2) throw new Error(`only ${kills} of ${KILLS} kills landed inside a reconcile (${missed} after it)`);
      const kind: Kind = kills % 2 === 0 ? 'agent' : 'reconcile';
      await reset();
      const started = Date.now();
      const victim = spawn(kind);
      await firstCommit(victim, started);
      await sleep(Math.floor(random.next() * window[kind] * 0.9));
      victim.kill('SIGKILL');
      const exit = await victim.exited;
      const at = exit.at - started;
      const completed = await checkInvariants(`after kill ${kills + 1} (${kind}, ${at} ms)`);
      if (exit.signal !== 'SIGKILL' || completed.length === eligible.length) {
        missed += 1;
        continue;
      }
      kills += 1;
      moments.push(at);
      landedAfter.push(completed.length);
      expect(completed.length).toBeGreaterThan(0);

      // The other kind picks up where the killed one stopped.
      const restart = await runToEnd(kind === 'agent' ? 'reconcile' : 'agent');
      restartMs.push(restart.ms);
      expect(restart.stashed).toBe(eligible.length - completed.length);
      const after = await checkInvariants(`after restart ${kills}`);
      expect(after).toHaveLength(eligible.length);
      expect(await db.count(`SELECT COUNT(*) AS n FROM ${db.historyTable}`)).toBe(expectedRows);
    }

    // Every instance complete: 11 properties, each once.
    const final = await db.query<{ uuid: string; n: number; k: number }>(
      "SELECT i.uuid, COUNT(m.id) AS n, COUNT(DISTINCT m.`key`) AS k FROM instances i LEFT JOIN instance_system_metadata m ON m.instance_uuid = i.uuid AND m.`key` LIKE 'image\\_hw\\_%' GROUP BY i.uuid",
    );
    expect(final.filter((r) => Number(r.n) !== PROPERTIES || Number(r.k) !== PROPERTIES)).toEqual([]);
    expect(final).toHaveLength(INSTANCES);

    const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    figure(
      'kill-9',
      `${kills}/${KILLS} runs (agent and reconcile alternating), ${INSTANCES} instances, batch ${BATCH}, seed ${random.seed}; ` +
        `0 incomplete, 0 duplicate rows, 0 overwritten; kill moments ${Math.min(...moments)}–${Math.max(...moments)} ms after start ` +
        `(${missed} drawn after the run had finished, redrawn); instances complete at the kill ${Math.min(...landedAfter)}–${Math.max(...landedAfter)} of ${eligible.length}; ` +
        `restart-to-complete median ${fmt(median(restartMs))} (max ${fmt(Math.max(...restartMs))})`,
    );
  } finally {
    for (const p of live) p.kill('SIGKILL');
    await db.close();
    await h.cleanup();
  }
}, 280_000);
