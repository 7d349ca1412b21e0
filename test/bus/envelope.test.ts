import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeNotification,
  encodeNotification,
  eventHost,
  formatPythonTimestamp,
  instancePayload,
  servicePayload,
  versionedObject,
} from '../../src/bus/envelope.js';
import { MalformedMessageError } from '../../src/bus/errors.js';
import { pythonJsonDumps } from '../../src/bus/python-json.js';
import { notificationFixturesDir } from './helpers/fixtures.js';

const dir = notificationFixturesDir();
const body = (file: string) => readFileSync(join(dir, file));
const inner = (file: string) => JSON.parse(JSON.parse(body(file).toString('utf8'))['oslo.message']);

const A = '0a538123-7143-4461-b258-dc394b17a536';
const B = '13adbc46-2f4f-436c-8e3c-43714106ec3f';
const IMAGE = 'c42e4f43-5c72-4231-931d-bfe127b6ab61';

type Row = readonly [
  file: string, eventType: string, publisherHost: string, payloadName: string, payloadVersion: string,
  uuid: string, host: string | null, node: string | null, state: string, power: string, task: string | null, second: string,
];

// The fixtures README's table, row by row.
const instanceRows: readonly Row[] = [
  ['instance-create-end.json', 'instance.create.end', 'compute-0', 'InstanceCreatePayload', '1.12', A, 'compute-0', 'compute-0', 'active', 'running', null, '2026-11-25 10:00:21'],
  ['instance-power_off-end.json', 'instance.power_off.end', 'compute-0', 'InstanceActionPayload', '1.8', A, 'compute-0', 'compute-0', 'stopped', 'shutdown', null, '2026-11-25 10:15:05'],
  ['instance-power_on-start.json', 'instance.power_on.start', 'compute-0', 'InstanceActionPayload', '1.8', A, 'compute-0', 'compute-0', 'stopped', 'shutdown', 'powering-on', '2026-11-25 10:20:00'],
  ['instance-power_on-end.json', 'instance.power_on.end', 'compute-0', 'InstanceActionPayload', '1.8', A, 'compute-0', 'compute-0', 'active', 'running', null, '2026-11-25 10:20:03'],
  ['instance-shelve-end.json', 'instance.shelve.end', 'compute-0', 'InstanceActionPayload', '1.8', A, 'compute-0', 'compute-0', 'shelved', 'shutdown', 'shelving_offloading', '2026-11-25 10:31:12'],
  ['instance-shelve_offload-end.json', 'instance.shelve_offload.end', 'compute-0', 'InstanceActionPayload', '1.8', A, null, null, 'shelved_offloaded', 'shutdown', null, '2026-11-25 10:31:15'],
  ['instance-unshelve-start.json', 'instance.unshelve.start', 'compute-0', 'InstanceActionPayload', '1.8', A, null, null, 'shelved_offloaded', 'shutdown', 'unshelving', '2026-11-25 11:05:01'],
  ['instance-unshelve-end.json', 'instance.unshelve.end', 'compute-0', 'InstanceActionPayload', '1.8', A, 'compute-0', 'compute-0', 'active', 'running', null, '2026-11-25 11:05:19'],
  ['instance-delete-end.json', 'instance.delete.end', 'compute-0', 'InstanceActionPayload', '1.8', A, 'compute-0', 'compute-0', 'deleted', 'pending', null, '2026-11-25 11:45:03'],
  ['instance-create-end-other-host.json', 'instance.create.end', 'compute-1', 'InstanceCreatePayload', '1.12', B, 'compute-1', 'compute-1', 'active', 'running', null, '2026-11-25 10:02:37'],
];

const serviceRows = [
  ['service-create.json', 'service.create', '2026-11-25 09:12:41'],
  ['service-update.json', 'service.update', '2026-11-25 12:00:07'],
] as const;

describe('decoding the recorded Nova notifications', () => {
  test.each(instanceRows.map((row) => [row[0], row] as const))(
    '%s',
    (_name, row) => {
      const [file, eventType, pubHost, payloadName, payloadVersion, uuid, host, node, state, power, task, second] = row;
      const n = decodeNotification(body(file));
      expect(n.format).toBe('v2');
      expect(n.eventType).toBe(eventType);
      expect(n.publisherId).toBe(`nova-compute:${pubHost}`);
      expect(n.publisherHost).toBe(pubHost);
      expect(n.priority).toBe('INFO');
      expect(n.timestamp.startsWith(second)).toBe(true);
      expect(n.payloadName).toBe(payloadName);
      expect(n.payloadVersion).toBe(payloadVersion);
      expect(n.payloadNamespace).toBe('nova');
      expect(n.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(n.instance).toEqual({
        instanceUuid: uuid,
        host,
        node,
        state,
        powerState: power,
        taskState: task,
        imageUuid: IMAGE,
      });
      expect(n.service).toBeNull();
      // The event's host is the compute even where the payload's host is null.
      expect(eventHost(n)).toBe(pubHost);
    },
  );

  test.each(serviceRows)('%s', (file, eventType, second) => {
    const n = decodeNotification(body(file));
    expect(n.eventType).toBe(eventType);
    expect(n.publisherHost).toBe('compute-0');
    expect(n.payloadName).toBe('ServiceStatusPayload');
    expect(n.payloadVersion).toBe('1.1');
    expect(n.timestamp.startsWith(second)).toBe(true);
    expect(n.service).toEqual({ serviceHost: 'compute-0', binary: 'nova-compute' });
    expect(n.instance).toBeNull();
    expect(n.data['uuid']).toBe('8ccd1f32-4d54-4802-8817-bc9bd74a3803');
    expect(eventHost(n)).toBe('compute-0');
  });

  test('request ids come from the payload, and for service events from the context', () => {
    expect(decodeNotification(body('instance-power_off-end.json')).requestId).toBe('req-9b2e4d71-0c3a-4f85-a6e2-1d7c8b5f3a40');
    expect(decodeNotification(body('service-update.json')).requestId).toBe('req-0d5b8a3f-6e2c-4719-a8d4-5c1e9b7f3a06');
  });

  test('the fixtures are in time order as the README lists them', () => {
    const order = [
      'service-create.json', 'instance-create-end.json', 'instance-create-end-other-host.json',
      'instance-power_off-end.json', 'instance-power_on-start.json', 'instance-power_on-end.json',
      'instance-shelve-end.json', 'instance-shelve_offload-end.json', 'instance-unshelve-start.json',
      'instance-unshelve-end.json', 'instance-delete-end.json', 'service-update.json',
    ];
    const stamps = order.map((f) => decodeNotification(body(f)).timestamp);
    expect([...stamps].sort()).toEqual(stamps);
  });

  test('a v1 body (the inner message with no envelope) decodes and says so', () => {
    const v1 = Buffer.from(JSON.parse(body('instance-unshelve-start.json').toString('utf8'))['oslo.message'], 'utf8');
    const n = decodeNotification(v1);
    expect(n.format).toBe('v1');
    expect(n.eventType).toBe('instance.unshelve.start');
    expect(n.instance?.host).toBeNull();
    expect(eventHost(n)).toBe('compute-0');
  });
});

describe('malformed bodies name the field', () => {
  const good = () => inner('instance-power_on-start.json');
  const wrap = (msg: unknown) => Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(msg) }));
  const reasonOf = (b: Buffer | string, maxBytes?: number): string => {
    try {
      decodeNotification(b, maxBytes === undefined ? {} : { maxBytes });
    } catch (err) {
      expect(err).toBeInstanceOf(MalformedMessageError);
      return (err as MalformedMessageError).reason;
    }
    throw new Error('decoded without error');
  };

  test.each([
    ['broken JSON', Buffer.from('{"oslo.version": "2.0", '), /^body: not valid JSON/],
    ['not an object', Buffer.from('[1,2]'), /^body: expected a JSON object, got an array/],
    ['wrong oslo.version', Buffer.from(JSON.stringify({ 'oslo.version': '1.0', 'oslo.message': '{}' })), /^oslo\.version: expected "2\.0"/],
    ['oslo.message not a string', Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': {} })), /^oslo\.message: expected a string/],
    ['oslo.message broken', Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{"a":' })), /^oslo\.message: not valid JSON/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /^body: not valid UTF-8/],
  ])('%s', (_name, b, reason) => {
    expect(reasonOf(b)).toMatch(reason);
  });

  test.each([
    ['message_id', (m: any) => delete m.message_id, /^message_id: missing/],
    ['publisher_id', (m: any) => (m.publisher_id = 7), /^publisher_id: expected a non-empty string, got a number/],
    ['event_type', (m: any) => (m.event_type = ''), /^event_type: expected a non-empty string/],
    ['priority', (m: any) => (m.priority = 'LOUD'), /^priority: expected one of .*INFO.*got "LOUD"/],
    ['timestamp', (m: any) => (m.timestamp = 'yesterday'), /^timestamp: expected "YYYY-MM-DD HH:MM:SS\[\.ffffff\]"/],
    ['payload', (m: any) => delete m.payload, /^payload: missing/],
    ['legacy payload', (m: any) => (m.payload = { instance_id: 'x' }), /^payload: not a versioned object/],
    ['payload name', (m: any) => delete m.payload['nova_object.name'], /^payload\.nova_object\.name: missing/],
    ['data', (m: any) => (m.payload['nova_object.data'] = null), /^payload\.nova_object\.data: expected a JSON object, got null/],
    ['instance uuid', (m: any) => (m.payload['nova_object.data'].uuid = 'web-01'), /^payload\.nova_object\.data\.uuid: expected a UUID/],
    ['instance state', (m: any) => delete m.payload['nova_object.data'].state, /^payload\.nova_object\.data\.state: missing/],
    ['instance host', (m: any) => (m.payload['nova_object.data'].host = 3), /^payload\.nova_object\.data\.host: expected a string or null/],
  ])('%s', (_name, mutate, reason) => {
    const m = good();
    mutate(m);
    expect(reasonOf(wrap(m))).toMatch(reason);
  });

  test('service events need host and binary', () => {
    const m = inner('service-update.json');
    delete m.payload['nova_object.data'].binary;
    expect(reasonOf(wrap(m))).toMatch(/^payload\.nova_object\.data\.binary: missing/);
  });

  test('bodies over the limit are refused before parsing', () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20); // would parse as JSON whitespace error otherwise
    expect(reasonOf(big)).toBe(`body: ${big.length} bytes exceeds the limit of ${1024 * 1024} bytes`);
    const fixture = body('instance-create-end.json');
    expect(reasonOf(fixture, 1000)).toBe(`body: ${fixture.length} bytes exceeds the limit of 1000 bytes`);
    expect(decodeNotification(fixture, { maxBytes: fixture.length }).eventType).toBe('instance.create.end');
  });
});

describe('encoding as Nova does', () => {
  test('Python json.dumps reproduces the recorded bytes exactly (no floats in service payloads)', () => {
    for (const file of ['service-create.json', 'service-update.json']) {
      const raw = body(file).toString('utf8');
      const outer = JSON.parse(raw);
      expect(pythonJsonDumps(JSON.parse(outer['oslo.message']))).toBe(outer['oslo.message']);
      expect(pythonJsonDumps(outer)).toBe(raw);
    }
  });

  test('Python escapes: ensure_ascii and control characters', () => {
    expect(pythonJsonDumps({ a: 'é"\\\n\u0001\u007f😀', b: [1, -2.5, true, null], c: {} })).toBe(
      '{"a": "\\u00e9\\"\\\\\\n\\u0001\\u007f\\ud83d\\ude00", "b": [1, -2.5, true, null], "c": {}}',
    );
    expect(pythonJsonDumps(1e-7)).toBe('1e-07');
  });

  test('timestamps are str(datetime): no fraction when the microseconds are zero', () => {
    expect(formatPythonTimestamp(new Date(Date.UTC(2026, 10, 25, 10, 15, 5, 207)))).toBe('2026-11-25 10:15:05.207000');
    expect(formatPythonTimestamp(new Date(Date.UTC(2026, 10, 25, 9, 0, 0, 0)))).toBe('2026-11-25 09:00:00');
  });

  test('inner keys in Nova order, envelope v2, ids of the right form', () => {
    const payload = instancePayload({ uuid: A, host: 'compute-0', state: 'stopped', powerState: 'shutdown', taskState: 'powering-on', imageUuid: IMAGE });
    const enc = encodeNotification({ eventType: 'instance.power_on.start', publisherId: 'nova-compute:compute-0', payload });
    const outer = JSON.parse(enc.body.toString('utf8'));
    expect(Object.keys(outer)).toEqual(['oslo.version', 'oslo.message']);
    expect(outer['oslo.version']).toBe('2.0');
    const msg = JSON.parse(outer['oslo.message']);
    const nova = inner('instance-power_on-start.json');
    const novaKeys = Object.keys(nova).filter((k) => !k.startsWith('_context_'));
    expect(Object.keys(msg)).toEqual(novaKeys);
    expect(msg.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(msg.message_id).toBe(enc.messageId);
    expect(msg._unique_id).toMatch(/^[0-9a-f]{32}$/);
    expect(msg.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$/);
    expect(msg.priority).toBe('INFO');
    // Same separators as the recorded bodies.
    expect(enc.body.toString('utf8').startsWith('{"oslo.version": "2.0", "oslo.message": "{\\"message_id\\": ')).toBe(true);
  });

  test('an encoded InstanceActionPayload has exactly the key sets of the recorded one', () => {
    const nova = inner('instance-power_off-end.json').payload;
    const ours = instancePayload({ uuid: A, host: 'compute-0', state: 'stopped', powerState: 'shutdown' });
    expect(Object.keys(ours)).toEqual(Object.keys(nova));
    expect(Object.keys(ours['nova_object.data'])).toEqual(Object.keys(nova['nova_object.data']));
    expect(ours['nova_object.name']).toBe(nova['nova_object.name']);
    expect(ours['nova_object.version']).toBe(nova['nova_object.version']);
    expect(ours['nova_object.namespace']).toBe(nova['nova_object.namespace']);
    // What is not given is null, not invented.
    expect(ours['nova_object.data']['display_name']).toBeNull();
    expect(ours['nova_object.data']['flavor']).toBeNull();
  });

  test('an encoded ServiceStatusPayload has exactly the key sets of the recorded one', () => {
    const nova = inner('service-create.json').payload;
    const ours = servicePayload({ host: 'compute-0' });
    expect(Object.keys(ours)).toEqual(Object.keys(nova));
    expect(Object.keys(ours['nova_object.data'])).toEqual(Object.keys(nova['nova_object.data']));
    expect(ours['nova_object.data']['topic']).toBe(nova['nova_object.data'].topic);
  });

  test('encode → decode round trip, v2 and v1', () => {
    for (const format of ['v2', 'v1'] as const) {
      const payload = instancePayload({
        uuid: B,
        host: null,
        state: 'shelved_offloaded',
        powerState: 'shutdown',
        taskState: 'unshelving',
        imageUuid: '',
        fields: { display_name: 'batch-worker-01' },
      });
      const at = new Date(Date.UTC(2026, 10, 25, 11, 5, 1, 923));
      const enc = encodeNotification({
        eventType: 'instance.unshelve.start',
        publisherId: 'nova-compute:compute-1',
        payload,
        timestamp: at,
        format,
        context: { request_id: 'req-1' },
      });
      const n = decodeNotification(enc.body);
      expect(n.format).toBe(format);
      expect(n.messageId).toBe(enc.messageId);
      expect(n.eventType).toBe('instance.unshelve.start');
      expect(n.timestamp).toBe('2026-11-25 11:05:01.923000');
      expect(n.requestId).toBe('req-1');
      expect(n.instance).toEqual({
        instanceUuid: B, host: null, node: null, state: 'shelved_offloaded',
        powerState: 'shutdown', taskState: 'unshelving', imageUuid: '',
      });
      expect(n.data['display_name']).toBe('batch-worker-01');
      expect(eventHost(n)).toBe('compute-1');
    }
  });

  test('every recorded message survives decode → re-encode → decode', () => {
    for (const [file] of [...instanceRows, ...serviceRows]) {
      const first = decodeNotification(body(file));
      const msg = inner(file);
      const context = Object.fromEntries(
        Object.entries(msg).filter(([k]) => k.startsWith('_context_')).map(([k, v]) => [k.slice('_context_'.length), v]),
      );
      const enc = encodeNotification({
        eventType: first.eventType,
        publisherId: first.publisherId,
        payload: msg.payload,
        messageId: first.messageId,
        uniqueId: msg._unique_id,
        timestamp: new Date(`${first.timestamp.replace(' ', 'T').slice(0, 23)}Z`),
        context,
      });
      expect(JSON.parse(JSON.parse(enc.body.toString('utf8'))['oslo.message'])).toEqual({
        ...msg,
        timestamp: expect.stringMatching(new RegExp(`^${first.timestamp.slice(0, 23).replace('.', '\\.')}`)),
      });
      const again = decodeNotification(enc.body);
      expect({ ...again, timestamp: '' }).toEqual({ ...first, timestamp: '' });
    }
  });

  test('encoding refuses what Nova would never send', () => {
    expect(() => encodeNotification({ eventType: 'a b', publisherId: 'x:y', payload: {} })).toThrow(/eventType/);
    expect(() => encodeNotification({ eventType: 'a.b', publisherId: '', payload: {} })).toThrow(/publisherId/);
    expect(() => encodeNotification({ eventType: 'a.b', publisherId: 'x:y', payload: {}, priority: 'LOUD' as never })).toThrow(/priority: expected one of/);
    expect(() => instancePayload({ uuid: 'nope', host: 'h', state: 's', powerState: 'p' })).toThrow(/uuid: expected a UUID/);
    expect(() => instancePayload({ uuid: A, host: 'h', state: 's', powerState: 'p', fields: { colour: 1 } as never })).toThrow(
      /fields\.colour: not a field of InstanceActionPayload 1\.8/,
    );
  });

  test('versionedObject wraps with the four keys', () => {
    expect(Object.keys(versionedObject('X', '1.0', {}, 'hwstash'))).toEqual([
      'nova_object.name', 'nova_object.namespace', 'nova_object.version', 'nova_object.data',
    ]);
  });
});
