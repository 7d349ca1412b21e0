/**
 * kill -9 in the middle of the start-up reconcile of a few thousand instances, then a restart:
 * every instance ends complete, no (instance, key) row twice, and no value that was already
 * there overwritten. Each batch is one transaction, so the kill leaves whole batches only.
 */
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { insertInstances, type NewInstance } from '../../src/store/seed.js';
import { AgentProcess, ensureBuilt } from './helpers/cli.js';
import { AgentHarness, sleep } from './helpers/harness.js';
import { mariadbHistory } from '../store/databases.js';

const INSTANCES = 3000;
/** Rows some instances already have (Nova's own stash of an older release, an operator's set). */
const PRESEEDED: Record<string, string> = { image_hw_video_model: 'cirrus', image_hw_machine_type: 'pc-i440fx-2.11', image_hw_vif_model: 'e1000' };

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

interface Row {
  id: number;
  instance_uuid: string;
  key: string;
  value: string | null;
}

test('kill -9 during the start-up reconcile leaves whole instances; after the restart every instance is complete, nothing doubled or overwritten', async () => {
  const h = await AgentHarness.create({ hwstash: { batch_size: 10 } });
  const side = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: h.db.name });
  const q = async <T>(sql: string, values: unknown[] = []): Promise<T[]> => (await side.query(sql, values))[0] as T[];
  let first: AgentProcess | null = null;
  let second: AgentProcess | null = null;
  try {
    const seeds: NewInstance[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      seeds.push({ uuid: randomUUID(), host: h.host, ...(i % 5 === 0 ? { systemMetadata: PRESEEDED } : {}) });
    }
    await insertInstances(h.store, seeds);
    const preseeded = await q<Row>("SELECT id, instance_uuid, `key`, value FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%' ORDER BY id");
    expect(preseeded).toHaveLength((INSTANCES / 5) * 3);

    first = AgentProcess.spawn(['--config-file', h.confFile, 'agent']);
    await first.waitForLog('reconciling this host', 60_000);
    // Some batches committed, most not: kill it.
    for (;;) {
      const [history] = await q<{ n: number }>(`SELECT COUNT(*) AS n FROM ${mariadbHistory(h.db.name)}`);
      if (Number(history!.n) >= 300) break;
      if (first.find('hwstash agent ready').length) throw new Error('the reconcile finished before the kill; give it more instances');
      await sleep(10);
    }
    first.kill('SIGKILL');
    const exit = await first.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(first.find('hwstash agent ready')).toEqual([]);

    const perInstance = () =>
      q<{ instance_uuid: string; n: number; distinct_keys: number }>(
        "SELECT i.uuid AS instance_uuid, COUNT(m.id) AS n, COUNT(DISTINCT m.`key`) AS distinct_keys FROM instances i LEFT JOIN instance_system_metadata m ON m.instance_uuid = i.uuid AND m.`key` LIKE 'image\\_hw\\_%' GROUP BY i.uuid",
      );
    const seededCount = new Map(seeds.map((s) => [s.uuid!, Object.keys(s.systemMetadata ?? {}).length]));
    // After the kill: each instance has what it had, or all 11; never a part of a batch.
    const afterKill = await perInstance();
    const complete = afterKill.filter((r) => Number(r.n) === 11).length;
    expect(complete).toBeGreaterThan(0);
    expect(complete).toBeLessThan(INSTANCES);
    const partial = afterKill.filter((r) => Number(r.n) !== 11 && Number(r.n) !== seededCount.get(r.instance_uuid));
    expect(partial).toEqual([]);

    second = AgentProcess.spawn(['--config-file', h.confFile, 'agent']);
    await second.waitForLog('hwstash agent ready', 120_000);

    const afterRestart = await perInstance();
    expect(afterRestart).toHaveLength(INSTANCES);
    expect(afterRestart.filter((r) => Number(r.n) !== 11 || Number(r.distinct_keys) !== 11)).toEqual([]);
    const duplicates = await q("SELECT instance_uuid, `key`, COUNT(*) AS n FROM instance_system_metadata GROUP BY instance_uuid, `key` HAVING COUNT(*) > 1");
    expect(duplicates).toEqual([]);
    // The rows that were there are the same rows, with the same values.
    const ids = preseeded.map((r) => r.id);
    const now = await q<Row>('SELECT id, instance_uuid, `key`, value FROM instance_system_metadata WHERE id IN (?) ORDER BY id', [ids]);
    expect(now).toEqual(preseeded);
    // One history row per property stashed, none for the values that were already there.
    const history = await q<{ n: number }>(`SELECT COUNT(*) AS n FROM ${mariadbHistory(h.db.name)}`);
    const expected = [...seededCount.values()].reduce((sum, seeded) => sum + (11 - seeded), 0);
    expect(Number(history[0]!.n)).toBe(expected);
    const historyOfPreseeded = await q(
      `SELECT h.instance_uuid FROM ${mariadbHistory(h.db.name)} h JOIN instance_system_metadata m ON m.instance_uuid = h.instance_uuid AND m.\`key\` = CONCAT('image_', h.property) WHERE m.id IN (?)`,
      [ids],
    );
    expect(historyOfPreseeded).toEqual([]);
    // The second run picked up where the first stopped.
    const done = second.find('reconcile done').find((l) => l['reason'] === 'agent start')!;
    expect(Number(done['instances_stashed'])).toBe(INSTANCES - complete);
  } finally {
    first?.kill('SIGKILL');
    second?.kill('SIGTERM');
    await second?.exited;
    await side.end();
    await h.cleanup();
  }
}, 240_000);
