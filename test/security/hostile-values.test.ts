/**
 * Hostile strings never reach domain XML or SQL unvalidated. They come in as image properties
 * (Nova copies them into system_metadata), as instance fields, as configuration, as notification
 * fields and on the command line. Each layer either refuses them, naming the field and what is
 * allowed, or carries them as inert data: bound or escaped in SQL, escaped in XML, and read back
 * as the very same string. The XML is read back with fast-xml-parser, not hwstash's reader.
 */
import { XMLParser } from 'fast-xml-parser';
import { decodeNotification, encodeNotification, instancePayload } from '../../src/bus/envelope.js';
import { MalformedMessageError } from '../../src/bus/errors.js';
import { decide } from '../../src/agent/events.js';
import { eventTypeLabel } from '../../src/agent/metrics.js';
import { DomainXmlError, buildDomain, canonicalStash, readDomainFacts, rewriteDomain, type DomainSpec } from '../../src/core/domain-xml/index.js';
import { PROPERTIES, PROPERTY_NAMES, type PropertyName } from '../../src/core/properties.js';
import { resolve } from '../../src/core/resolve.js';
import { InstanceNotFoundError, Store, UnstorableValueError } from '../../src/store/index.js';
import { insertInstances } from '../../src/store/seed.js';
import { createTestDatabase, type TestDatabase, type TestDialect } from '../store/databases.js';
import { KVM_X86, OSINFO } from '../store/fixtures.js';
import { HOSTILE, PRINTABLE_HOSTILE } from './hostile-strings.js';

const ENUM_PROPERTIES = PROPERTIES.filter((p) => p.type.values !== null).map((p) => p.name);
/** Values some enum accepts as given or after Nova's case folding: not hostile for these tests. */
const ACCEPTED = new Set(PROPERTIES.flatMap((p) => p.type.values ?? []));
const hostileFor = (values: readonly string[]) => values.filter((v) => !ACCEPTED.has(v.toLowerCase()));

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, trimValues: false, processEntities: true, htmlEntities: false });

describe('resolve: hostile image properties', () => {
  const cases = ENUM_PROPERTIES.flatMap((p) => hostileFor(HOSTILE).map((v): [PropertyName, string] => [p, v]));

  test.each(cases)('%s = %j: Nova cannot load it, so nothing resolves and the error names it', (property, value) => {
    const r = resolve({ imageProperties: { [property]: value }, instance: { vmMode: null }, host: KVM_X86, osinfo: OSINFO });
    expect(r.properties).toEqual({});
    expect(Object.keys(r.errors)).toEqual([property]);
    expect(r.errors[property]!.code).toBe('ValueError');
    expect(r.errors[property]!.message).toContain(JSON.stringify(value));
    expect(r.errors[property]!.message).toMatch(/allowed: /);
  });

  const notMachineNames = PRINTABLE_HOSTILE.filter((v) => /[^A-Za-z0-9._-]/.test(v));
  test.each(notMachineNames.map((v) => [v]))('hw_machine_type = %j is any string to Nova: carried as data, never into XML', (value) => {
    const r = resolve({ imageProperties: { hw_machine_type: value }, instance: { vmMode: null }, host: KVM_X86, osinfo: OSINFO });
    expect(r.properties.hw_machine_type).toEqual({ value, source: 'image' });
    expect(() => canonicalStash({ hw_machine_type: value })).toThrow(DomainXmlError);
    expect(() => canonicalStash({ hw_machine_type: value })).toThrow(/hw_machine_type: .* is not a QEMU machine type name; allowed: /);
  });

  test.each(HOSTILE.map((v) => [v]))('os_distro = %j is only a lookup key: unknown OS, driver defaults', (value) => {
    const r = resolve({ imageProperties: { os_distro: value }, instance: { vmMode: null }, host: KVM_X86, osinfo: OSINFO });
    expect(r.errors).toEqual({});
    expect(r.properties.hw_vif_model).toEqual({ value: 'virtio', source: 'driver' });
  });
});

describe('domain XML: hostile stash values are refused, hostile names and paths are escaped', () => {
  const base = (over: Partial<DomainSpec> = {}): DomainSpec => ({
    name: 'instance-0000002a',
    uuid: '0a538123-7143-4461-b258-dc394b17a536',
    vcpus: 1,
    memoryMb: 512,
    virtType: 'kvm',
    arch: 'x86_64',
    stash: { hw_machine_type: 'pc', hw_disk_bus: 'virtio', hw_cdrom_bus: 'ide', hw_video_model: 'virtio', hw_vif_model: 'virtio' },
    disks: [{ deviceType: 'disk', path: '/var/lib/nova/instances/x/disk', format: 'qcow2', bootIndex: 0 }],
    interfaces: [{ type: 'bridge', source: 'br-int' }],
    graphics: 'vnc',
    ...over,
  });
  const stashCases = PROPERTY_NAMES.flatMap((p) => hostileFor(HOSTILE.filter((v) => v !== '')).map((v): [PropertyName, string] => [p, v]));

  test.each(stashCases)('stash %s = %j: build and rewrite refuse it, naming the property and what is allowed', (property, value) => {
    const spec = base();
    expect(() => buildDomain({ ...spec, stash: { ...spec.stash, [property]: value } })).toThrow(new RegExp(`^${property}: [\\s\\S]*allowed: `));
    const xml = buildDomain(spec);
    expect(() => rewriteDomain(xml, { [property]: value })).toThrow(new RegExp(`^${property}: [\\s\\S]*allowed: `));
  });

  test.each(PRINTABLE_HOSTILE.map((v) => [v]))('name, disk path and bridge holding %j: escaped, and read back as the same string', (hostile) => {
    // A domain name may not hold '/' (libvirt's rule): that part of the input is refused instead.
    const name = `instance ${hostile.replace(/\//g, '|')}`;
    const xml = buildDomain(
      base({
        name,
        disks: [{ deviceType: 'disk', path: `/var/lib/nova/${hostile}/disk`, format: 'qcow2', bootIndex: 0 }],
        interfaces: [{ type: 'bridge', source: `br-${hostile}` }],
      }),
    );
    const doc = parser.parse(xml) as { domain: any };
    expect(doc.domain.name).toBe(name);
    expect(doc.domain.devices.disk.source['@file']).toBe(`/var/lib/nova/${hostile}/disk`);
    expect(doc.domain.devices.interface.source['@bridge']).toBe(`br-${hostile}`);
    // Only ever as escaped text: none of the input's markup survives as markup.
    expect(xml.match(/<domain[\s>]/g)).toHaveLength(1);
    expect(xml).not.toMatch(/<script|<!--|<!DOCTYPE|\]\]>|&e;/);
    expect(xml.match(/<\?xml/g)?.length ?? 0).toBeLessThanOrEqual(1);
    // What the domain says it uses: only the values that went in.
    expect(readDomainFacts(xml).values).toMatchObject({ hw_machine_type: 'pc', hw_disk_bus: 'virtio', hw_video_model: 'virtio', hw_vif_model: 'virtio' });
  });

  test.each(PRINTABLE_HOSTILE.filter((v) => /[^A-Za-z0-9._-]/.test(v)).map((v) => [v]))('a domain whose machine type reads %j: an ignored reading, never a fact to stash', (hostile) => {
    const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');
    const xml = buildDomain(base()).replace(/machine=(['"])pc\1/, `machine='${escape(hostile)}'`);
    expect(parser.parse(xml).domain.os.type['@machine']).toBe(hostile);
    const reading = readDomainFacts(xml);
    expect(reading.values.hw_machine_type).toBeUndefined();
    expect(reading.ignored).toContainEqual(expect.objectContaining({ property: 'hw_machine_type', value: hostile }));
  });

  test.each(HOSTILE.filter((v) => /[\u0000-\u001f\u007f]/.test(v)).map((v) => [v]))('a name or path holding control characters (%j) is refused', (hostile) => {
    expect(() => buildDomain(base({ name: `instance-${hostile}` }))).toThrow(/^name: .* allowed: /);
    expect(() => buildDomain(base({ disks: [{ deviceType: 'disk', path: `/var/lib/${hostile}`, bootIndex: 0 }] }))).toThrow(/disks\[0\]\.path: .*without control characters/);
    expect(() => buildDomain(base({ interfaces: [{ type: 'bridge', source: `br${hostile}` }] }))).toThrow(/without control characters/);
  });

  test.each(HOSTILE.map((v) => [v]))("an instance architecture of %j (instances.architecture) is refused, naming Nova's allowed values", (hostile) => {
    expect(() => buildDomain(base({ arch: hostile }))).toThrow(/^arch: [\s\S]* is not a valid Architecture; allowed: alpha, /);
  });

  test('a domain XML with a DOCTYPE (entities, external references) is refused, not expanded', () => {
    const xml = buildDomain(base()).replace('<domain', `<!DOCTYPE domain [<!ENTITY e SYSTEM "file:///etc/hostname"><!ENTITY a "aaaaaaaaaaaaaaaa">]>\n<domain`).replace('instance-0000002a', '&e;&a;');
    expect(() => rewriteDomain(xml, { hw_video_model: 'vga' })).toThrow(/DOCTYPE/);
    expect(() => readDomainFacts(xml)).toThrow(/DOCTYPE/);
  });

  test('hostile text already in a domain (metadata, description) stays inert through a rewrite', () => {
    const hostile = PRINTABLE_HOSTILE.join(' | ');
    const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    const xml = buildDomain(base()).replace('</name>', `</name>\n  <description>${escape(hostile)}</description>`);
    const { xml: out } = rewriteDomain(xml, { hw_video_model: 'vga' });
    const doc = parser.parse(out) as { domain: any };
    expect(doc.domain.description).toBe(hostile);
    expect(doc.domain.devices.video.model['@type']).toBe('vga');
    expect(out.match(/<domain[\s>]/g)).toHaveLength(1);
  });
});

describe('the notification decoder', () => {
  const host = 'compute-0';
  const body = (d: Record<string, unknown>, eventType = 'instance.create.end') => {
    const payload = instancePayload({ uuid: '0a538123-7143-4461-b258-dc394b17a536', host, state: 'active', powerState: 'running' });
    Object.assign(payload['nova_object.data'], d);
    return encodeNotification({ eventType, publisherId: `nova-compute:${host}`, payload }).body;
  };

  test.each(HOSTILE.map((v) => [v]))('a uuid of %j is refused, naming the field', (value) => {
    expect(() => decodeNotification(body({ uuid: value }))).toThrow(MalformedMessageError);
    expect(() => decodeNotification(body({ uuid: value }))).toThrow(/payload\.nova_object\.data\.uuid: expected a UUID|payload\.nova_object\.data\.uuid: expected a non-empty string/);
  });

  // (An empty host is Nova's "see the publisher": shelve_offload.end and unshelve.start.)
  test.each(HOSTILE.filter((v) => v !== '').map((v) => [v]))('a host of %j is data: the event is not for this agent', (value) => {
    const n = decodeNotification(body({ host: value }));
    expect(n.instance!.host).toBe(value);
    expect(decide(n, host)).toEqual({ act: false, why: expect.stringMatching(/^instance on host /) });
  });

  test.each(HOSTILE.filter((v) => v !== '').map((v) => [v]))('an event type of %j is one hwstash does not act on, under a bounded metric label', (value) => {
    const n = decodeNotification(body({}, `instance.${value}`.replace(/[^A-Za-z0-9_.-]/g, '_')));
    expect(decide(n, host).act).toBe(false);
    expect(eventTypeLabel(`instance.${value}`)).toBe('other');
    expect(eventTypeLabel(value)).toBe('other');
  });
});

function storeSuite(dialect: TestDialect): void {
  describe(`the store on ${dialect}: hostile strings are data`, () => {
    let tdb: TestDatabase;
    let store: Store;
    beforeAll(async () => {
      tdb = await createTestDatabase(dialect);
      store = await Store.open(tdb.url);
      await store.initNovaSchema();
      await store.migrate();
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await tdb?.drop();
    });

    const tables = async () => (await store.status()).novaTables;
    const count = async (table: string) => Number((await store.db.sequelize.query(`SELECT COUNT(*) AS n FROM ${table}`, { plain: true }))!['n']);

    test('hostile image rows and instance fields: stored and read back as given; the stash adds only valid values', async () => {
      const machine = `pc'; DROP TABLE instances; --`;
      const [withMachine, withVideo] = await insertInstances(store, [
        { host: 'h1', displayName: `<name>'; DROP TABLE instances; --`, imageProperties: { hw_machine_type: machine } },
        { host: 'h1', displayName: `"'><script>`, imageProperties: { hw_video_model: `cirrus'; DELETE FROM instance_system_metadata; --` } },
      ]);
      const report = await store.stash([withMachine!, withVideo!], { profile: KVM_X86, osinfo: OSINFO, actor: 'test' });
      // The machine type is Nova's (any string) and stays as it is; the ten others are stashed.
      const first = report.instances.find((i) => i.uuid === withMachine)!;
      expect(first.status).toBe('stashed');
      expect(Object.keys(first.toStash)).toHaveLength(10);
      expect((await store.systemMetadata(withMachine!)).find((r) => r.key === 'image_hw_machine_type')!.value).toBe(machine);
      // A video model Nova cannot load blocks the whole image metadata, as in Nova: nothing stashed, reported.
      const second = report.instances.find((i) => i.uuid === withVideo)!;
      expect(second.toStash).toEqual({});
      expect(second.badStoredValues.map((b) => b.key)).toEqual(['image_hw_video_model']);
      // Every value hwstash wrote is a plain name.
      const written = report.rows.map((r) => r.value).filter((v) => v !== null);
      expect(written.filter((v) => !/^[a-z0-9][a-z0-9._-]*$/.test(v!))).toEqual([]);
      expect(await tables()).toEqual({ instances: true, instance_system_metadata: true, instance_actions: true });
      expect((await store.instance(withMachine!))!.displayName).toBe(`<name>'; DROP TABLE instances; --`);
    });

    test('a hostile machine type from nova.conf is stored as the string it is; one the column cannot hold is refused, the rest stashed', async () => {
      const conf = `q35'); DELETE FROM instances; --`;
      const [a, b, c] = await insertInstances(store, [{ host: 'h2' }, { host: 'h2' }, { host: 'h2' }]);
      const stash = (uuid: string, machine: string) =>
        store.stash([uuid], { profile: { ...KVM_X86, machineTypes: [`x86_64=${machine}`] }, osinfo: OSINFO, actor: 'test' });
      await stash(a!, conf);
      expect((await store.systemMetadata(a!)).find((r) => r.key === 'image_hw_machine_type')!.value).toBe(conf);
      for (const [uuid, machine, why] of [
        [b!, 'pc\u0000evil', /NUL/],
        [c!, 'pc-\u{1F4A3}', /Basic Multilingual Plane/],
      ] as const) {
        const r = await stash(uuid, machine);
        expect(r.instances[0]!.errors.hw_machine_type).toMatchObject({ code: 'UnstorableValue', message: expect.stringMatching(why) });
        expect(Object.keys(r.instances[0]!.toStash)).toHaveLength(10);
        expect((await store.systemMetadata(uuid)).map((row) => row.key)).not.toContain('image_hw_machine_type');
      }
      expect(await count('instances')).toBeGreaterThanOrEqual(5);
    });

    // On SQLite a NUL ends the statement Sequelize sends (its literals are inlined), which then
    // fails with the literal left open: an error, never a different statement. No input path
    // can carry a NUL there (argv and environment cannot; notification uuids are validated).
    test.each(HOSTILE.map((v) => [v]))('lookups by %j find nothing (or fail) and change nothing', async (value) => {
      const before = { instances: await count('instances'), sysmeta: await count('instance_system_metadata'), history: await count(store.db.own.table('hwstash_property_history')) };
      const nothing = async <T>(work: () => Promise<T>, empty: T) => {
        try {
          expect(await work()).toEqual(empty);
        } catch (err) {
          if (!(dialect === 'sqlite' && value.includes('\u0000'))) throw err;
        }
      };
      await nothing(() => store.instance(value), null);
      await nothing(() => store.instanceIdsOnHost(value), []);
      await nothing(async () => (await store.stash([value], { profile: KVM_X86, osinfo: OSINFO, actor: 'test' })).instances.map((i) => i.status), ['skipped']);
      await nothing(() => store.history(value), []);
      await expect(store.writeProperties(value, [{ property: 'hw_video_model', value: 'vga' }], { source: 'set', actor: 'test' })).rejects.toThrow(
        dialect === 'sqlite' && value.includes('\u0000') ? Error : InstanceNotFoundError,
      );
      expect(await store.instanceIdsOnHost(`h1' OR '1'='1`)).toEqual([]);
      expect({ instances: await count('instances'), sysmeta: await count('instance_system_metadata'), history: await count(store.db.own.table('hwstash_property_history')) }).toEqual(before);
    });

    test.each(ENUM_PROPERTIES.flatMap((p) => hostileFor(HOSTILE).map((v): [PropertyName, string] => [p, v])))(
      "an operator's write of %s = %j is refused before anything is written",
      async (property, value) => {
        const [uuid] = await insertInstances(store, [{ host: 'h3', vmState: 'stopped' }]);
        await expect(store.writeProperties(uuid!, [{ property, value }], { source: 'set', actor: 'test' })).rejects.toThrow(UnstorableValueError);
        expect(await store.systemMetadata(uuid!)).toEqual([]);
        expect(await store.history(uuid!)).toEqual([]);
      },
    );

    test('a hostile reason and actor are stored as text (NUL replaced, as the column cannot hold it)', async () => {
      const [uuid] = await insertInstances(store, [{ host: 'h4', vmState: 'stopped' }]);
      const reason = `'; DROP TABLE hwstash_property_history; -- <x/> ]]>`;
      await store.writeProperties(uuid!, [{ property: 'hw_video_model', value: 'vga' }], { source: 'set', actor: `op'"<>`, reason });
      await store.writeProperties(uuid!, [{ property: 'hw_video_model', value: 'cirrus' }], { source: 'set', actor: 'op\u0000x', reason: 'a\u0000b' });
      const history = await store.history(uuid!);
      expect(history.map((h) => [h.actor, h.reason])).toEqual([
        [`op'"<>`, reason],
        ['op\uFFFDx', 'a\uFFFDb'],
      ]);
    });
  });
}

storeSuite('sqlite');
storeSuite('mariadb');
storeSuite('postgres');
