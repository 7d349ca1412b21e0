/**
 * An operator's `set` racing the agent's stash on the same 200 instances. The agent stashes
 * them on instance.create.end and on a host reconcile (nova-compute's service.update) while the
 * operator sets hw_video_model=vga three ways at once: the real `hwstash image-property set
 * --all` process, single `hwstash image-property set <uuid>` processes, and the store's write
 * from another connection pool (as another operator tool would). Afterwards every instance has
 * the operator's value and exactly one row per key, whichever writer got each lock first.
 */
import { randomUUID } from 'node:crypto';
import { Store } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { AgentProcess, ensureBuilt } from '../agent/helpers/cli.js';
import { AgentHarness, queueCounts, waitFor } from '../agent/helpers/harness.js';
import { novaFixture } from '../agent/helpers/nova-fixtures.js';
import { figure } from './helpers/figures.js';
import { seededRandom, testSeed } from './helpers/seeded-random.js';
import { SideDb } from './helpers/side-db.js';

const INSTANCES = 200;
const SINGLE_CLI = 8;
const PROPERTIES = 11;
const WANTED = 'vga';

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function cli(confFile: string, args: string[]): Promise<CliRun> {
  const p = AgentProcess.spawn(['--config-file', confFile, ...args]);
  const exit = await p.exited;
  return { code: exit.code, stdout: p.lines.map((l) => (l['unparsed'] ? String(l['msg']) : JSON.stringify(l))).join('\n'), stderr: p.stderr };
}

test("operator set racing the agent's stash on 200 instances: the operator's value holds everywhere, one row per key", async () => {
  const random = seededRandom(testSeed());
  const h = await AgentHarness.create({ hwstash: { publish_notifications: false, log_level: 'info', batch_size: 10 } });
  const db = await SideDb.open(h.db.name);
  const operator = await Store.open(h.db.url);
  try {
    await h.startAgent();
    const uuids = Array.from({ length: INSTANCES }, () => randomUUID());
    await insertInstances(h.store, uuids.map((uuid) => ({ uuid, host: h.host, vmState: 'stopped' })));

    // Everything at once: events and a reconcile on the agent's side, three operators.
    const order = random.shuffle(uuids);
    const agentSide = (async () => {
      h.publishService('service.update');
      for (const uuid of order) h.publishRaw(novaFixture('instance-create-end.json', { uuid, host: h.host }).body);
    })();
    const bulk = cli(h.confFile, ['image-property', 'set', '--all', '--property', `hw_video_model=${WANTED}`, '--skip-host-check', '--format', 'json']);
    const singles = random.shuffle(uuids).slice(0, SINGLE_CLI).map((uuid) =>
      cli(h.confFile, ['image-property', 'set', uuid, '--property', `hw_video_model=${WANTED}`, '--skip-host-check', '--format', 'json']),
    );
    const direct = (async () => {
      const queue = random.shuffle(uuids);
      const worker = async () => {
        for (let uuid = queue.pop(); uuid !== undefined; uuid = queue.pop()) {
          await operator.writeProperties(uuid, [{ property: 'hw_video_model', value: WANTED }], { source: 'set', actor: 'operator-tool' });
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    })();
    await agentSide;
    await direct;
    const runs = [await bulk, ...(await Promise.all(singles))];
    for (const r of runs) {
      // The only things said on stderr: the warning --skip-host-check asks for, and (this test
      // host has no API database) that the RequestSpec was not updated.
      const said = r.stderr
        .replace(/^hwstash: warning: host check skipped \(--skip-host-check\).*\n/m, '')
        .replace(/^hwstash: warning: the instances' RequestSpecs were not updated: no \[api_database\] connection is configured.*\n/m, '');
      expect([r.code, said, r.code === 0 ? '' : r.stdout]).toEqual([0, '', '']);
    }

    await waitFor(async () => (await db.count("SELECT COUNT(*) AS n FROM instance_system_metadata WHERE `key` LIKE 'image\\_hw\\_%'")) === INSTANCES * PROPERTIES, 60_000, 'every instance stashed');
    await waitFor(async () => {
      const q = await queueCounts(h.names.queue);
      return q !== null && q.ready === 0 && q.unacked === 0;
    }, 30_000, 'the agent to finish');
    expect(await h.broker!.ready(h.names.deadLetterQueue)).toBe(0);

    // One row per key, 11 keys, and the operator's value on every instance.
    expect(await db.duplicates()).toEqual([]);
    const video = await db.query<{ instance_uuid: string; value: string | null }>("SELECT instance_uuid, value FROM instance_system_metadata WHERE `key` = 'image_hw_video_model'");
    expect(video).toHaveLength(INSTANCES);
    expect(video.filter((r) => r.value !== WANTED)).toEqual([]);
    const counts = await db.imageKeyCounts();
    expect(uuids.filter((u) => counts.get(u) !== PROPERTIES)).toEqual([]);

    // Who won each race, from the history: the stash before the set (the set then updated the
    // stashed row), or the set first (the stash then left the key alone). Either way the last
    // word on hw_video_model is a set, and no stash ever wrote it after one.
    const history = await db.query<{ instance_uuid: string; source: string; new_value: string | null }>(
      `SELECT instance_uuid, source, new_value FROM ${db.historyTable} WHERE property = 'hw_video_model' ORDER BY id`,
    );
    let stashFirst = 0;
    let setFirst = 0;
    for (const uuid of uuids) {
      const mine = history.filter((e) => e.instance_uuid === uuid);
      const firstSet = mine.findIndex((e) => e.source === 'set');
      expect([uuid, firstSet >= 0, mine[mine.length - 1]]).toEqual([uuid, true, expect.objectContaining({ source: 'set', new_value: WANTED })]);
      expect([uuid, mine.slice(firstSet).filter((e) => e.source === 'stash')]).toEqual([uuid, []]);
      if (firstSet > 0) stashFirst += 1;
      else setFirst += 1;
    }
    const stashed = await db.count(`SELECT COUNT(*) AS n FROM ${db.historyTable} WHERE source = 'stash'`);
    expect(stashed).toBe(INSTANCES * PROPERTIES - setFirst);

    figure(
      'operator-race',
      `${INSTANCES} instances, seed ${random.seed}: set via \`image-property set --all\`, ${SINGLE_CLI} single \`image-property set\` processes and 4 store writers, ` +
        `against ${INSTANCES} create.end events and a host reconcile; stash first on ${stashFirst}, set first on ${setFirst}; ` +
        `${INSTANCES}/${INSTANCES} hold ${WANTED}, 0 duplicate rows`,
    );
  } finally {
    await operator.close();
    await db.close();
    await h.cleanup();
  }
}, 180_000);
