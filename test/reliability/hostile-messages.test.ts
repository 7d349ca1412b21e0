/**
 * 1,000 generated malformed and hostile messages, mixed with valid ones, sent to the real
 * `hwstash agent` process (libvirt: the real libvirtd, qemu:///system). The agent must never
 * crash; every message ends dead-lettered (with its reason) or acknowledged (skipped or done),
 * and the counts add up to what was sent; the valid ones are applied; instances only hostile
 * messages name keep their rows and their domains exactly as they were.
 */
import { createHash, randomUUID } from 'node:crypto';
import { buildDomain } from '../../src/core/domain-xml/index.js';
import { Hypervisor } from '../../src/hypervisor/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { AgentHarness, httpGet, queueCounts, waitFor } from '../agent/helpers/harness.js';
import { parseExposition } from '../agent/helpers/prometheus.js';
import { generateHostileMessages, type Expect } from './helpers/hostile-messages.js';
import { figure } from './helpers/figures.js';
import { seededRandom, testSeed } from './helpers/seeded-random.js';
import { SideDb } from './helpers/side-db.js';
import { NEWEST_RELEASE } from '../../src/core/releases.js';

const MESSAGES = 1000;
const VALID_INSTANCES = 60;
const HOSTILE_ONLY = 40;
const WITH_DOMAIN = 8;
const LIBVIRT = 'qemu:///system';

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('1,000 malformed and hostile messages: no crash, each dead-lettered with a reason or acknowledged, valid ones applied, hostile-only instances untouched', async () => {
  const random = seededRandom(testSeed());
  const h = await AgentHarness.create({ hwstash: { publish_notifications: false, log_level: 'info', prefetch: 64, libvirt_uri: LIBVIRT } });
  const db = await SideDb.open(h.db.name);
  const hv = await Hypervisor.open(LIBVIRT);
  const defined: string[] = [];
  let agent: AgentProcess | null = null;
  try {
    agent = AgentProcess.spawn(['--config-file', h.confFile, 'agent']);
    await agent.waitForLog('hwstash agent ready', 60_000);
    await agent.waitForLog('consuming', 60_000);

    // Created after the start-up reconcile, so only messages could make the agent touch them.
    const valid = Array.from({ length: VALID_INSTANCES }, () => randomUUID());
    const hostileOnly = Array.from({ length: HOSTILE_ONLY }, () => randomUUID());
    await insertInstances(h.store, [
      ...valid.map((uuid) => ({ uuid, host: h.host })),
      ...hostileOnly.map((uuid, i) => ({
        uuid,
        host: h.host,
        vmState: i % 2 ? 'stopped' : 'active',
        imageProperties: { hw_disk_bus: 'ide', os_distro: 'win10' },
        blockDevices: [{ device_name: '/dev/hda', source_type: 'image', destination_type: 'local', device_type: 'disk', boot_index: 0 }],
      })),
    ]);
    for (const uuid of hostileOnly.slice(0, WITH_DOMAIN)) {
      await hv.define(
        buildDomain({
          name: `hwstash-hostile-${uuid.slice(0, 8)}`,
          uuid,
          vcpus: 1,
          memoryMb: 64,
          virtType: 'qemu',
          arch: 'x86_64',
          stash: { hw_machine_type: 'pc', hw_disk_bus: 'ide', hw_video_model: 'cirrus', hw_vif_model: 'rtl8139' },
          disks: [{ deviceType: 'disk', path: `/var/lib/nova/instances/${uuid}/disk`, format: 'qcow2', bootIndex: 0 }],
          interfaces: [],
          graphics: 'vnc',
        }),
      );
      defined.push(uuid);
    }
    const dumpHostileOnly = async () => ({
      instances: await db.query('SELECT * FROM instances WHERE uuid IN (?) ORDER BY id', [hostileOnly]),
      sysmeta: await db.query('SELECT * FROM instance_system_metadata WHERE instance_uuid IN (?) ORDER BY id', [hostileOnly]),
      devices: await db.query('SELECT * FROM block_device_mapping WHERE instance_uuid IN (?) ORDER BY id', [hostileOnly]),
      history: await db.query(`SELECT * FROM ${db.historyTable} WHERE instance_uuid IN (?) ORDER BY id`, [hostileOnly]),
      domains: await Promise.all(defined.map((u) => hv.persistentXml(u))),
      tables: await db.query("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"),
    });
    const before = await dumpHostileOnly();
    expect(before.sysmeta.length).toBe(HOSTILE_ONLY * 2);
    expect(before.domains.every((x) => typeof x === 'string' && x.includes('<domain'))).toBe(true);

    const messages = generateHostileMessages({ random, host: h.host, valid, hostileOnly, count: MESSAGES, unknownInstances: 5 });
    expect(messages).toHaveLength(MESSAGES);
    const started = Date.now();
    for (const m of messages) h.publishRaw(m.body);

    const scrape = async () => parseExposition((await httpGet(`${agent!.metricsUrl}/metrics`)).body);
    const outcomes = async () => {
      const counts = { done: 0, skipped: 0, dead_lettered: 0 };
      for (const s of (await scrape()).samples) {
        if (s.name !== 'hwstash_events_total') continue;
        const o = s.labels['outcome'] as keyof typeof counts;
        if (o in counts) counts[o] += s.value;
      }
      return counts;
    };
    await waitFor(async () => {
      const c = await outcomes();
      return c.done + c.skipped + c.dead_lettered >= MESSAGES;
    }, 120_000, 'every message to be dealt with');
    const tookMs = Date.now() - started;
    await waitFor(async () => {
      const q = await queueCounts(h.names.queue);
      return q !== null && q.ready === 0 && q.unacked === 0;
    }, 30_000, 'the queue to drain');

    // Still up and healthy.
    expect(agent.child.exitCode).toBeNull();
    expect(agent.child.signalCode).toBeNull();
    const health = await httpGet(`${agent.metricsUrl}/healthz`);
    expect([health.status, JSON.parse(health.body)]).toEqual([200, { status: 'ok', database: true, bus: true, libvirt: true, reconciled: true, nova_release: NEWEST_RELEASE.name }]);

    const expected = (e: Expect[]) => messages.filter((m) => e.includes(m.expect));
    const counts = await outcomes();
    expect(counts).toEqual({
      done: expected(['apply']).length,
      skipped: expected(['skip']).length,
      dead_lettered: expected(['dead-letter', 'retry']).length,
    });
    expect(counts.done + counts.skipped + counts.dead_lettered).toBe(MESSAGES);

    // The dead letters are exactly the bodies that could not be processed, each with its reason.
    const dead = await h.broker!.drain(h.names.deadLetterQueue);
    expect(dead.map((d) => sha(d.content)).sort()).toEqual(expected(['dead-letter', 'retry']).map((m) => sha(m.body)).sort());
    const reasons = dead.map((d) => d.properties.headers?.['x-hwstash-reason']);
    expect(reasons.filter((x) => typeof x !== 'string' || x.trim() === '')).toEqual([]);
    expect(agent.find('event dead-lettered')).toHaveLength(dead.length);

    // The handler ran for the valid events and the unknown instances, and for nothing else.
    const handled = new Set(agent.find('handling event').map((l) => String(l['message_id'])));
    expect([...handled].sort()).toEqual([...new Set(expected(['apply', 'retry']).map((m) => m.messageId!))].sort());

    // Valid events applied: 11 properties each, values that are plain names, nothing hostile.
    const rows = await db.query<{ instance_uuid: string; key: string; value: string | null }>(
      "SELECT instance_uuid, `key`, value FROM instance_system_metadata WHERE instance_uuid IN (?) AND `key` LIKE 'image\\_hw\\_%'",
      [valid],
    );
    const targeted = new Set(expected(['apply']).map((m) => m.target!));
    for (const uuid of valid) {
      const mine = rows.filter((r) => r.instance_uuid === uuid);
      expect([uuid, mine.length]).toEqual([uuid, targeted.has(uuid) ? 11 : 0]);
    }
    expect(rows.filter((r) => r.value !== null && !/^[a-z0-9][a-z0-9._-]*$/.test(r.value))).toEqual([]);
    expect(await db.duplicates()).toEqual([]);

    // Hostile-only instances: rows, devices, history and domains exactly as before.
    expect(await dumpHostileOnly()).toEqual(before);

    const byOutcome = (e: Expect) => expected([e]).length;
    const kinds = new Map<string, number>();
    for (const m of messages) kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
    figure(
      'hostile-messages',
      `${MESSAGES} messages, seed ${random.seed}: ${counts.dead_lettered} dead-lettered with a reason (${byOutcome('dead-letter')} malformed at once, ${byOutcome('retry')} unknown instances after retries), ` +
        `${counts.skipped} skipped, ${counts.done} applied; sum ${counts.done + counts.skipped + counts.dead_lettered} = sent; agent up and healthy; ` +
        `${HOSTILE_ONLY} hostile-only instances and ${WITH_DOMAIN} domains untouched; dealt with in ${(tookMs / 1000).toFixed(1)} s; ${kinds.size} kinds`,
    );
    figure('hostile-messages kinds', [...kinds.entries()].map(([k, n]) => `${k} ${n}`).join('; '));
  } finally {
    agent?.kill('SIGKILL');
    await agent?.exited;
    for (const uuid of defined) await hv.undefine(uuid).catch(() => undefined);
    await hv.close();
    await db.close();
    await h.cleanup();
  }
}, 240_000);
