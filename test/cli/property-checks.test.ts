/**
 * The pure checks behind `image-property set` (core/property-checks.ts) and the revert plan.
 * nova-manage's machine-type guards are compared with Nova's own `_check_update_to_existing_type`
 * (Debian's python3-nova) over every pair of a set of machine types; where hwstash differs on
 * purpose, the pairs are named and tested on their own.
 */
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseDomainCapabilities, parseHostCapabilities } from '../../src/core/capabilities.js';
import {
  ALLOWED_VM_STATES,
  PropertyInputError,
  checkAgainstDomainCapabilities,
  checkMachineOnHost,
  checkRequestedValues,
  machineTypeUpdateProblem,
  parseAssignments,
  stateAllowsChange,
} from '../../src/core/property-checks.js';
import { revertPlan, RevertEntryError } from '../../src/cli/revert-plan.js';
import type { HistoryRecord } from '../../src/store/index.js';

const PYTHON = process.env['HWSTASH_NOVA_PYTHON'] ?? '/usr/bin/python3';
const FIXTURES = fileURLToPath(new URL('../fixtures/libvirt-9.0-qemu-7.2', import.meta.url));

const NOVA_GUARD = `
import json, sys
from nova import exception
from nova.virt.libvirt import machine_type_utils as m
out = []
for existing, new in json.load(sys.stdin):
    try:
        m._check_update_to_existing_type(existing, new)
        out.append('allowed')
    except exception.InvalidMachineTypeUpdate:
        out.append('refused')
    except Exception as e:
        out.append('crash:' + type(e).__name__)
print(json.dumps(out))
`;

const MACHINES = [
  'pc', 'q35', 'virt', 's390-ccw-virtio', 'pc-1.0', 'pc-i440fx-2.11', 'pc-i440fx-6.2', 'pc-i440fx-7.2', 'pc-q35-5.2', 'pc-q35-7.2',
  'pc-q35-4.0.1', 'pc-q35-4.1.2', 'virt-6.2', 'virt-7.1', 's390-ccw-virtio-7.0', 'pc-i440fx-rhel7.6.0', 'pc-q35-rhel8.2.0', 'pc-q35-rhel7.6.0',
  'pseries', 'pseries-7.0', 'isapc', 'pc-q35-rhel9.2.0', 'virt-rhel9.2.0', 'pc-q35-jammy',
];

const version = (m: string): number[] | null => {
  const match = /(\d+\.\d+\.\d+|\d+\.\d+)$/.exec(m);
  return match ? match[1]!.split('.').map(Number) : null;
};

describe("machine-type guards against Nova's own", () => {
  const pairs: Array<[string, string]> = MACHINES.flatMap((a) => MACHINES.filter((b) => b !== a).map((b): [string, string] => [a, b]));
  let nova: string[];
  beforeAll(() => {
    const run = spawnSync(PYTHON, ['-c', NOVA_GUARD], { input: JSON.stringify(pairs), encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`nova failed: ${run.stderr}`);
    nova = JSON.parse(run.stdout);
  });

  /** Where hwstash differs from Nova on purpose (see the tests below). */
  function deliberate(existing: string, next: string, novaSays: string): boolean {
    if (novaSays.startsWith('crash')) return true;
    const a = version(existing);
    const b = version(next);
    if (a && b && a.length !== b.length) return true;
    const novaPatterns = [/^pc$/, /^q35$/, /^virt$/, /^s390-ccw-virtio$/, /^pc-\d+.\d+/, /^pc-i440fx-\d+.\d+/, /^pc-q35-\d+.\d+/, /^virt-\d+.\d+/, /^s390-ccw-virtio-\d+.\d+/, /^pc-i440fx-rhel\d.\d+.\d+/, /^pc-q35-rhel\d.\d+.\d+/];
    return !novaPatterns.some((p) => p.test(existing));
  }

  test('every other pair: refused exactly where Nova refuses', () => {
    const disagreements = pairs
      .map(([a, b], i) => ({ a, b, nova: nova[i]!, ours: machineTypeUpdateProblem(a, b) === null ? 'allowed' : 'refused' }))
      .filter((p) => !deliberate(p.a, p.b, p.nova) && p.nova !== p.ours);
    expect(disagreements).toEqual([]);
    // The comparison covered a real share of the pairs, refusals and allowances both.
    const compared = pairs.filter(([a, b], i) => !deliberate(a, b, nova[i]!));
    expect(compared.length).toBeGreaterThan(250);
    expect(compared.some(([a, b]) => machineTypeUpdateProblem(a, b) === null)).toBe(true);
  });

  test('versions of different lengths compare as versions (Nova compares 4.0.1 as 4000001 and 5.2 as 5002)', () => {
    expect(machineTypeUpdateProblem('pc-q35-5.2', 'pc-q35-4.0.1')).toContain('older');
    expect(machineTypeUpdateProblem('pc-q35-4.0.1', 'pc-q35-5.2')).toBeNull();
  });

  test("a versioned type to an unversioned one is refused (Nova's check crashes on it)", () => {
    expect(machineTypeUpdateProblem('pseries-7.0', 'pseries')).toContain('is versioned (7.0), pseries is not');
  });

  test("types outside Nova's patterns: a family change is refused, an upgrade within one is not", () => {
    expect(machineTypeUpdateProblem('isapc', 'pc')).toContain('family');
    expect(machineTypeUpdateProblem('pseries', 'virt')).toContain('family');
    expect(machineTypeUpdateProblem('pseries-6.2', 'pseries-7.0')).toBeNull();
    expect(machineTypeUpdateProblem('pseries-7.0', 'pseries-6.2')).toContain('older');
  });

  test('against a domain (nothing stashed): family and version only, no alias rule', () => {
    expect(machineTypeUpdateProblem('pc-i440fx-7.2', 'pc', 'domain')).toBeNull();
    expect(machineTypeUpdateProblem('pc-i440fx-7.2', 'q35', 'domain')).toContain("the domain's type is of the i440fx family");
    expect(machineTypeUpdateProblem('pc-i440fx-7.2', 'pc-i440fx-6.2', 'domain')).toContain('older');
  });

  test("a distro's types are versioned, not aliases: a downgrade is refused, against the stash and against a domain", () => {
    expect(machineTypeUpdateProblem('pc-q35-rhel9.2.0', 'pc-q35-rhel8.6.0')).toContain('pc-q35-rhel8.6.0 is older than pc-q35-rhel9.2.0 (8.6.0 < 9.2.0)');
    expect(machineTypeUpdateProblem('pc-q35-rhel9.2.0', 'pc-q35-rhel8.6.0', 'domain')).toContain('older');
    expect(machineTypeUpdateProblem('pc-q35-rhel8.6.0', 'pc-q35-rhel9.2.0', 'domain')).toBeNull();
    expect(machineTypeUpdateProblem('virt-rhel9.2.0', 'pc-q35-rhel9.2.0', 'domain')).toContain('virt family');
    expect(machineTypeUpdateProblem('pc-q35-rhel9.2.0', 'q35')).toContain('it would move between an alias and a versioned type');
    // A codename carries no version to compare: within the family, anything goes.
    expect(machineTypeUpdateProblem('pc-q35-jammy', 'pc-q35-noble', 'domain')).toBeNull();
  });

  test('the message names the property, both types, why, and what is allowed', () => {
    expect(machineTypeUpdateProblem('pc-i440fx-7.2', 'pc-i440fx-2.11')).toBe(
      'hw_machine_type=pc-i440fx-2.11: cannot update machine type pc-i440fx-7.2 to pc-i440fx-2.11: pc-i440fx-2.11 is older than ' +
        'pc-i440fx-7.2 (2.11 < 7.2); allowed without --force: pc-i440fx-<version> with a version of 7.2 or later ' +
        '(nova-manage libvirt update_machine_type refuses it too)',
    );
    expect(machineTypeUpdateProblem('pc', 'q35')).toContain('allowed without --force: pc only (an alias stays an alias)');
    expect(machineTypeUpdateProblem(null, 'q35')).toBeNull();
    expect(machineTypeUpdateProblem('q35', 'q35')).toBeNull();
  });
});

describe('--property items', () => {
  const kind = (items: string[]): string => {
    try {
      parseAssignments(items);
      return 'ok';
    } catch (err) {
      return (err as PropertyInputError).kind;
    }
  };

  test('format before names, as nova-manage checks them', () => {
    expect(kind([])).toBe('format');
    expect(kind(['hw_bogus=1', 'hw_disk_bus'])).toBe('format');
    expect(kind(['hw_disk_bus=ide', 'hw_disk_bus=ide'])).toBe('format');
    expect(kind(['hw_disk_bus=ide', 'hw_bogus=1'])).toBe('name');
    expect(kind(['=virtio'])).toBe('name');
    expect(kind(['hw_disk_bus=bogus'])).toBe('ok');
  });

  test('the first = splits; a value with = reaches the value checks and is refused there', () => {
    expect(parseAssignments(['hw_disk_bus=a=b'])).toEqual([{ property: 'hw_disk_bus', raw: 'a=b' }]);
    const { values, problems } = checkRequestedValues([{ property: 'hw_disk_bus', raw: 'a=b' }], 'kvm');
    expect(values).toEqual([]);
    expect(problems[0]!.message).toContain("must not contain '='");
  });

  test('values come back canonical; problems in the order given', () => {
    const { values, problems } = checkRequestedValues(
      [
        { property: 'hw_vif_model', raw: 'VirtualE1000' },
        { property: 'hw_scsi_model', raw: 'LsiLogicSAS' },
        { property: 'hw_disk_bus', raw: 'uml' },
        { property: 'hw_video_model', raw: 'Cirrus' },
      ],
      'kvm',
    );
    expect(values).toEqual([
      { property: 'hw_vif_model', value: 'e1000' },
      { property: 'hw_scsi_model', value: 'lsisas1068' },
    ]);
    expect(problems.map((p) => p.property)).toEqual(['hw_disk_bus', 'hw_video_model']);
  });

  test('virt type tables: lxc allows only the lxc bus and no NIC model; parallels ide and scsi', () => {
    const one = (property: 'hw_disk_bus' | 'hw_vif_model', raw: string, vt: 'lxc' | 'parallels' | 'qemu') =>
      checkRequestedValues([{ property, raw }], vt).problems.map((p) => p.message);
    expect(one('hw_disk_bus', 'lxc', 'lxc')).toEqual([]);
    expect(one('hw_disk_bus', 'virtio', 'lxc')).toEqual(['hw_disk_bus=virtio is not valid for [libvirt] virt_type lxc; allowed for lxc: lxc']);
    expect(one('hw_vif_model', 'virtio', 'lxc')).toEqual(['hw_vif_model=virtio is not valid for [libvirt] virt_type lxc; allowed for lxc: none']);
    expect(one('hw_disk_bus', 'sata', 'parallels')[0]).toContain('allowed for parallels: ide, scsi');
    expect(one('hw_vif_model', 'lan9118', 'qemu')).toEqual([]);
  });
});

describe('vm_state', () => {
  test("nova-manage's three states, nothing else", () => {
    expect([...ALLOWED_VM_STATES]).toEqual(['stopped', 'shelved', 'shelved_offloaded']);
    for (const s of ['stopped', 'shelved', 'shelved_offloaded']) expect(stateAllowsChange(s)).toBe(true);
    for (const s of ['active', 'STOPPED', 'building', 'error', 'soft-delete', null]) expect(stateAllowsChange(s)).toBe(false);
  });
});

describe('against the recorded capabilities of libvirt 9.0 / QEMU 7.2', () => {
  const host = parseHostCapabilities(readFileSync(`${FIXTURES}/capabilities-qemu-system.xml`, 'utf8'));
  const q35 = parseDomainCapabilities(readFileSync(`${FIXTURES}/domcaps-qemu-x86_64-q35.xml`, 'utf8'));

  test('machine types: known, unknown, deprecated, and an alias', () => {
    expect(checkMachineOnHost(host, 'x86_64', 'pc-q35-7.2')).toEqual({ unsupported: [], notChecked: [], warnings: [] });
    expect(checkMachineOnHost(host, 'x86_64', 'q35').unsupported).toEqual([]);
    expect(checkMachineOnHost(host, 'x86_64', 'pc-q35-99.0').unsupported[0]).toMatchObject({ property: 'hw_machine_type', message: expect.stringContaining('has no machine type pc-q35-99.0') });
    expect(checkMachineOnHost(host, 'x86_64', 'pc-i440fx-1.4').warnings[0]!.message).toContain('deprecated');
    expect(checkMachineOnHost(host, 'x86_64', 'pc-i440fx-7.2').warnings).toEqual([]);
  });

  test("libvirt's test driver lists no QEMU guests: the machine type is not checked, not refused", () => {
    const testDriver = parseHostCapabilities(`<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
      <guest><os_type>hvm</os_type><arch name='i686'><wordsize>32</wordsize><emulator>/usr/bin/test-hv</emulator><domain type='test'/></arch></guest></capabilities>`);
    const f = checkMachineOnHost(testDriver, 'x86_64', 'q35');
    expect(f.unsupported).toEqual([]);
    expect(f.notChecked[0]!.message).toContain('not checked');
  });

  test('changed values and, with a note, values that stay', () => {
    const f = checkAgainstDomainCapabilities(
      [
        { property: 'hw_cdrom_bus', value: 'ide', changed: false },
        { property: 'hw_disk_bus', value: 'sata', changed: true },
        { property: 'hw_video_model', value: 'gop', changed: true },
        { property: 'hw_vif_model', value: 'e1000', changed: true },
        { property: 'hw_scsi_model', value: null, changed: false },
      ],
      q35,
    );
    expect(f.unsupported.map((u) => u.property)).toEqual(['hw_cdrom_bus', 'hw_video_model']);
    expect(f.unsupported[0]!.message).toContain('stashed, unchanged');
    expect(f.unsupported[1]!.message).not.toContain('stashed, unchanged');
    // libvirt 9.0 lists no NIC models: said, not passed silently.
    expect(f.notChecked.map((n) => n.property)).toEqual(['hw_vif_model']);
  });
});

describe('revert plan', () => {
  let id = 0;
  const entry = (property: string, oldV: string | null, newV: string | null, time: string, extra: Partial<HistoryRecord> = {}): HistoryRecord => ({
    id: ++id,
    instanceUuid: 'u',
    property,
    oldValue: oldV,
    oldPresent: oldV !== null,
    newValue: newV,
    newPresent: true,
    source: 'set',
    valueSource: null,
    actor: 'op',
    reason: null,
    time,
    ...extra,
  });

  test('without --to: the latest write as a whole; with --to: everything after the entry', () => {
    id = 0;
    const history = [
      entry('hw_video_model', null, 'cirrus', 't0', { source: 'stash', actor: 'agent' }),
      entry('hw_video_model', 'cirrus', 'vga', 't1'),
      entry('hw_disk_bus', 'virtio', 'scsi', 't2'),
      entry('hw_video_model', 'vga', 'virtio', 't2'),
    ];
    const last = revertPlan(history, null);
    expect(last.undone.map((h) => h.id)).toEqual([3, 4]);
    expect(last.targets).toEqual([
      { property: 'hw_disk_bus', present: true, value: 'virtio', entry: 3 },
      { property: 'hw_video_model', present: true, value: 'vga', entry: 4 },
    ]);
    const toStash = revertPlan(history, 1);
    expect(toStash.targets).toEqual([
      { property: 'hw_disk_bus', present: true, value: 'virtio', entry: 3 },
      { property: 'hw_video_model', present: true, value: 'cirrus', entry: 2 },
    ]);
    expect(() => revertPlan(history, 99)).toThrow(RevertEntryError);
    expect(revertPlan(history, 4).targets).toEqual([]);
    expect(revertPlan([], null).targets).toEqual([]);
  });

  test('a write that added a row is undone by removing it', () => {
    id = 0;
    const plan = revertPlan([entry('hw_rescue_bus', null, 'sata', 't1')], null);
    expect(plan.targets).toEqual([{ property: 'hw_rescue_bus', present: false, value: null, entry: 1 }]);
  });
});
