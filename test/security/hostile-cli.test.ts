/**
 * Hostile strings on the operator's command line, against a real MariaDB database: refused with
 * nova-manage's exit codes (5 unknown property, 6 invalid value) and nothing written, or used as
 * data (a host name, a reason) that matches nothing or is stored as given. (A command line cannot
 * hold NUL, so the control characters here are the others.)
 */
import { PROPERTY_NAMES } from '../../src/core/properties.js';
import { cliWorld, type CliWorld } from '../cli/helpers.js';
import { HOSTILE, PRINTABLE_HOSTILE } from './hostile-strings.js';

const ARGV_HOSTILE = HOSTILE.filter((v) => !v.includes('\u0000'));
/** Values an enum accepts after Nova's coercion are not hostile here. */
const NOT_A_VALUE = ARGV_HOSTILE.filter((v) => !['VIRTIO'].includes(v));

let w: CliWorld;
let uuid: string;
let running: string;

beforeAll(async () => {
  w = await cliWorld('mariadb');
  [uuid, running] = await w.seed([
    { host: 'compute-1', vmState: 'stopped', displayName: `<x>'; DROP TABLE instances; --` },
    { host: 'compute-1', vmState: 'active' },
  ]) as [string, string];
}, 60_000);

afterAll(async () => {
  await w?.close();
});

async function unchanged<T>(work: () => Promise<T>): Promise<T> {
  const before = await w.dump();
  const result = await work();
  expect(await w.dump()).toEqual(before);
  return result;
}

describe('image-property set', () => {
  // A machine type is any name of QEMU's shape (`VIRTIO` would be one); the rest are not names.
  const notMachineNames = PRINTABLE_HOSTILE.filter((v) => /[^A-Za-z0-9._-]/.test(v));
  const cases = PROPERTY_NAMES.flatMap((p) => (p === 'hw_machine_type' ? notMachineNames : NOT_A_VALUE).map((v): [string, string] => [p, v]));

  test.each(cases)('%s=%j: exit 6, the message names the property and what is allowed, nothing written', async (property, value) => {
    const r = await unchanged(() => w.cli(['image-property', 'set', uuid, '--property', `${property}=${value}`]));
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`instance ${uuid}: ${property}=`);
    expect(r.stderr).toMatch(/allowed: /);
    expect(r.stderr).toMatch(/nothing written/);
    expect(r.stdout).toBe('');
  });

  test.each(PRINTABLE_HOSTILE.filter((v) => !v.includes('=')).map((v) => [v]))('a property name of %j: exit 5, nothing written', async (name) => {
    const r = await unchanged(() => w.cli(['image-property', 'set', uuid, '--property', `${name}=vga`]));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/invalid image property name .*; allowed: hw_machine_type, /);
  });

  test('a value with "=" in it (an attempt at a second assignment): exit 6, nothing written', async () => {
    const r = await unchanged(() => w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=vga=1; hw_disk_bus=ide']));
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/must not contain '='/);
  });

  test.each(PRINTABLE_HOSTILE.map((v) => [v]))('an instance uuid of %j: not found (exit 2), nothing written', async (value) => {
    const r = await unchanged(() => w.cli(['image-property', 'set', value, '--property', 'hw_video_model=vga']));
    expect(r.code).toBe(2);
  });

  test('a hostile --reason is stored as the text it is, next to a valid value', async () => {
    const reason = `'); DROP TABLE hwstash_property_history; -- <reason/> ]]> \u001b[2J`;
    const r = await w.cli(['image-property', 'set', uuid, '--property', 'hw_video_model=vga', '--reason', reason, '--skip-host-check']);
    expect(r.code).toBe(0);
    const history = (await w.dump()).hwstash_property_history;
    expect(history.map((h) => [h['property'], h['new_value'], h['reason']])).toEqual([['hw_video_model', 'vga', reason]]);
  });

  test('a running instance is refused before any value is looked at (exit 3)', async () => {
    const r = await unchanged(() => w.cli(['image-property', 'set', running, '--property', `hw_video_model=${PRINTABLE_HOSTILE[0]}`]));
    expect(r.code).toBe(3);
  });
});

describe('bulk set, reconcile, show, history', () => {
  test.each(PRINTABLE_HOSTILE.map((v) => [v]))('--host %j matches no instance: nothing seen, nothing written', async (host) => {
    const bulk = await unchanged(() => w.cli(['image-property', 'set', '--all', '--host', host, '--property', 'hw_video_model=cirrus', '--skip-host-check', '--format', 'json']));
    expect(bulk.code).toBe(0);
    expect(JSON.parse(bulk.stdout)).toMatchObject({ seen: 0, matched: 0, changed: 0 });
    const reconcile = await unchanged(() => w.cli(['reconcile', '--host', host, '--format', 'json']));
    expect(reconcile.code).toBe(0);
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ instancesSeen: 0, propertiesStashed: 0 });
  });

  test.each(NOT_A_VALUE.map((v) => [v]))('--where hw_video_model=%j cannot match any stored value: exit 6, nothing written', async (value) => {
    const r = await unchanged(() => w.cli(['image-property', 'set', '--all', '--where', `hw_video_model=${value}`, '--property', 'hw_video_model=cirrus', '--skip-host-check']));
    expect(r.code).toBe(6);
  });

  test.each(PRINTABLE_HOSTILE.map((v) => [v]))('show and history of a property named %j: refused, nothing read as SQL', async (name) => {
    const show = await unchanged(() => w.cli(['image-property', 'show', uuid, name]));
    expect(show.code).toBe(3);
    expect(show.stderr).toMatch(/allowed: hw_machine_type, /);
    const history = await unchanged(() => w.cli(['image-property', 'history', uuid, '--property', name]));
    expect(history.code).toBe(5);
  });
});
