/**
 * The repair rules (store/repair-plan.ts) on hand-built rows and histories: what Nova's saves
 * leave behind in each case the module's comment names, and who is taken to have written it.
 */
import { PROPERTIES, type PropertyName } from '../../src/core/properties.js';
import type { HistoryRecord } from '../../src/store/history.js';
import { planRepair } from '../../src/store/repair-plan.js';
import { storedProperties } from '../../src/store/sysmeta.js';

const UUID = '6f1d7d2e-0000-4000-8000-000000000001';
let id = 0;

function entry(property: PropertyName, oldValue: string | null | undefined, newValue: string | null, time: string, source: HistoryRecord['source'] = 'stash'): HistoryRecord {
  return {
    id: ++id, instanceUuid: UUID, property, oldValue: oldValue ?? null, oldPresent: oldValue !== undefined,
    newValue, newPresent: true, source, valueSource: null, actor: 'test', reason: null, time,
  };
}

function stored(rows: Partial<Record<PropertyName, string | null>>) {
  return storedProperties(new Map(Object.entries(rows).map(([k, v]) => [`image_${k}`, v ?? null])));
}

const T0 = '2026-12-01T10:00:00.000Z';
const T1 = '2026-12-01T11:00:00.000Z';
const T2 = '2026-12-01T12:00:00.000Z';
const fullStash = (): HistoryRecord[] =>
  PROPERTIES.map((p) => entry(p.name, undefined, p.name === 'hw_video_model' ? 'cirrus' : p.name === 'hw_scsi_model' ? null : 'x', T0));
const fullRows = (): Partial<Record<PropertyName, string | null>> =>
  Object.fromEntries(PROPERTIES.map((p) => [p.name, p.name === 'hw_video_model' ? 'cirrus' : p.name === 'hw_scsi_model' ? null : 'x']));

test('rows that agree with the history need nothing', () => {
  expect(planRepair({ stored: stored(fullRows()), history: fullStash(), rebuiltAt: null })).toEqual({ restore: [], adopt: [], rebuiltAway: [] });
});

test('a row gone is restored to the last value, NULL ("no such device") included', () => {
  const rows = fullRows();
  delete rows.hw_scsi_model;
  delete rows.hw_video_model;
  const plan = planRepair({ stored: stored(rows), history: fullStash(), rebuiltAt: null });
  expect([...plan.restore].sort((a, b) => a.property.localeCompare(b.property))).toEqual([
    { property: 'hw_scsi_model', found: { present: false, value: null }, value: null, cause: 'erased' },
    { property: 'hw_video_model', found: { present: false, value: null }, value: 'cirrus', cause: 'erased' },
  ]);
});

test('a value back to an older one is restored; a new value no rule explains is kept as Nova\'s', () => {
  const history = [...fullStash(), entry('hw_video_model', 'cirrus', 'vga', T1, 'set'), entry('hw_disk_bus', 'x', 'ide', T1, 'set')];
  const plan = planRepair({ stored: stored({ ...fullRows(), hw_video_model: 'cirrus', hw_disk_bus: 'sata' }), history, rebuiltAt: null });
  expect(plan.restore).toEqual([{ property: 'hw_video_model', found: { present: true, value: 'cirrus' }, value: 'vga', cause: 'reverted' }]);
  expect(plan.adopt).toEqual([{ property: 'hw_disk_bus', recorded: { present: true, value: 'ide' }, found: { present: true, value: 'sata' }, cause: 'unexplained' }]);
});

test('a change beside an erased row belongs to the same stale save and is restored', () => {
  const rows = { ...fullRows(), hw_disk_bus: 'sata' };
  delete rows.hw_rng_model;
  const plan = planRepair({ stored: stored(rows), history: fullStash(), rebuiltAt: null });
  expect(plan.restore.map((r) => [r.property, r.cause]).sort()).toEqual([['hw_disk_bus', 'stale-save'], ['hw_rng_model', 'erased']]);
});

test("Nova's registration default over a registered property is restored; the same value on a property Nova does not register is kept", () => {
  const history = fullStash();
  const plan = planRepair({
    stored: stored({ ...fullRows(), hw_video_model: 'virtio', hw_rng_model: 'virtio' }),
    history,
    rebuiltAt: null,
    registrationDefaults: { hw_video_model: 'virtio', hw_rng_model: 'virtio' },
  });
  expect(plan.restore.map((r) => [r.property, r.cause])).toEqual([['hw_video_model', 'registration']]);
  expect(plan.adopt.map((a) => [a.property, a.cause])).toEqual([['hw_rng_model', 'unexplained']]);
});

test("the RequestSpec holding the new value marks nova-manage's set: kept even when it goes back to an older value", () => {
  const history = [...fullStash(), entry('hw_video_model', 'cirrus', 'vga', T1, 'set')];
  const plan = planRepair({ stored: stored({ ...fullRows(), hw_video_model: 'cirrus' }), history, rebuiltAt: null, requestSpec: { hw_video_model: 'cirrus' } });
  expect(plan.adopt).toEqual([{ property: 'hw_video_model', recorded: { present: true, value: 'vga' }, found: { present: true, value: 'cirrus' }, cause: 'requestSpec' }]);
  expect(plan.restore).toEqual([]);
});

test('after a rebuild changed values are kept and removed ones left to be stashed anew; before it, the rules hold', () => {
  const rows = { ...fullRows(), hw_video_model: 'qxl' };
  delete rows.hw_rng_model;
  const after = planRepair({ stored: stored(rows), history: fullStash(), rebuiltAt: T2 });
  expect(after).toEqual({
    restore: [],
    adopt: [{ property: 'hw_video_model', recorded: { present: true, value: 'cirrus' }, found: { present: true, value: 'qxl' }, cause: 'rebuild' }],
    rebuiltAway: ['hw_rng_model'],
  });
  // A rebuild older than the last entry says nothing about today's rows.
  const before = planRepair({ stored: stored(rows), history: [...fullStash().map((h) => ({ ...h, time: T2 }))], rebuiltAt: T1 });
  expect(before.restore.map((r) => r.cause).sort()).toEqual(['erased', 'stale-save']);
});

test('a property an operator reverted to "not stashed" is not held on to', () => {
  const history = [...fullStash(), { ...entry('hw_video_model', 'cirrus', null, T1, 'revert'), newPresent: false }];
  const rows = fullRows();
  delete rows.hw_video_model;
  expect(planRepair({ stored: stored(rows), history, rebuiltAt: null }).restore).toEqual([]);
});
