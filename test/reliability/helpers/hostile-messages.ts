/**
 * A seeded generator of malformed and hostile notification bodies, mixed with valid ones. Each
 * message says what must become of it, from the wire format (DESIGN.md "Shape") and the event
 * table, not from hwstash's code:
 *
 *   dead-letter  not a versioned notification (broken JSON, wrong types, bad envelope, not a
 *                uuid, over the 1 MiB limit, invalid UTF-8): dead-lettered at once;
 *   retry        a well-formed event of this host for an instance the database does not have:
 *                retried, then dead-lettered;
 *   skip         well-formed but not for this agent (another host, an event it does not act
 *                on): acknowledged, nothing done;
 *   apply        a valid event of this host for a known instance, hostile text in the fields
 *                that do not decide anything: the instance is stashed as usual.
 *
 * Messages that must not act carry the uuids of the "hostile-only" instances, whose rows and
 * domains must come through untouched.
 */
import { randomUUID } from 'node:crypto';
import { instancePayload, servicePayload } from '../../../src/bus/envelope.js';
import { CONTROL, SQL_META, XML_META } from '../../security/hostile-strings.js';
import type { Random } from './seeded-random.js';

export type Expect = 'dead-letter' | 'retry' | 'skip' | 'apply';

export interface HostileMessage {
  kind: string;
  expect: Expect;
  body: Buffer;
  /** The message_id as a string when it has one a decoder could read; else null. */
  messageId: string | null;
  /** The instance the message names, when it names a known one. */
  target: string | null;
}

const MIB = 1024 * 1024;

export function hostileString(r: Random): string {
  const parts = [r.pick(XML_META), r.pick(SQL_META), r.pick(CONTROL)];
  return r.shuffle(parts).slice(0, r.int(1, 3)).join(r.pick(['', ' ', 'x']));
}

type Json = Record<string, unknown>;

interface Parts {
  outer: Json;
  inner: Json;
  payload: Json;
  data: Json;
}

function pythonTimestamp(): string {
  return new Date().toISOString().replace('T', ' ').replace('Z', '000');
}

/** A valid instance notification, as objects the generator can damage before serializing. */
function instanceParts(o: { eventType: string; host: string | null; uuid: string; publisherHost: string; messageId?: string }): Parts {
  const payload = instancePayload({ uuid: o.uuid, host: o.host, state: 'active', powerState: 'running', imageUuid: randomUUID() }) as unknown as Json;
  const inner: Json = {
    message_id: o.messageId ?? randomUUID(),
    publisher_id: `nova-compute:${o.publisherHost}`,
    event_type: o.eventType,
    priority: 'INFO',
    payload,
    timestamp: pythonTimestamp(),
    _unique_id: randomUUID().replace(/-/g, ''),
  };
  return { outer: { 'oslo.version': '2.0' }, inner, payload, data: payload['nova_object.data'] as Json };
}

function serialize(p: Parts): Buffer {
  return Buffer.from(JSON.stringify({ ...p.outer, 'oslo.message': JSON.stringify(p.inner) }), 'utf8');
}

function idOf(p: Parts): string | null {
  const id = p.inner['message_id'];
  return typeof id === 'string' && id !== '' ? id : null;
}

/** The deep value as JSON text, written without JSON.stringify (which recurses). */
function deepText(depth: number): string {
  let open = '';
  let close = '';
  for (let i = depth - 1; i >= 0; i--) {
    open += i % 2 ? '[' : '{"d":';
    close = (i % 2 ? ']' : '}') + close;
  }
  return `${open}"bottom"${close}`;
}

const WRONG_TYPES: unknown[] = [42, 4.2, true, false, [], ['x'], {}, { a: 1 }];
const REQUIRED_INNER = ['message_id', 'publisher_id', 'event_type', 'priority', 'timestamp'] as const;
const REQUIRED_DATA = ['uuid', 'state'] as const;
const OPTIONAL_DATA = ['host', 'node', 'power_state', 'task_state', 'image_uuid'] as const;

export interface GeneratorInput {
  random: Random;
  host: string;
  /** Instances that valid messages name: they get stashed. */
  valid: readonly string[];
  /** Instances only malformed or foreign messages name: they must stay as they are. */
  hostileOnly: readonly string[];
  count: number;
  /** How many well-formed events for unknown instances (each is retried for seconds). */
  unknownInstances: number;
}

export function generateHostileMessages(input: GeneratorInput): HostileMessage[] {
  const { random: r, host } = input;
  const hostileTarget = () => r.pick(input.hostileOnly);
  const validTarget = () => r.pick(input.valid);
  const ours = (uuid: string, eventType = 'instance.create.end') => instanceParts({ eventType, host, uuid, publisherHost: host });
  const out: HostileMessage[] = [];
  const push = (kind: string, expect: Expect, body: Buffer, messageId: string | null, target: string | null) => out.push({ kind, expect, body, messageId, target });
  const pushParts = (kind: string, expect: Expect, p: Parts, target: string | null) => push(kind, expect, serialize(p), idOf(p), target);

  const generators: Array<[weight: number, make: () => void]> = [
    // ---- dead-letter: not a versioned notification ----
    [6, () => {
      const body = serialize(ours(hostileTarget()));
      push('broken JSON (truncated body)', 'dead-letter', body.subarray(0, r.int(0, body.length - 2)), null, null);
    }],
    [4, () => {
      const p = ours(hostileTarget());
      const text = JSON.stringify(p.inner);
      push('truncated envelope (oslo.message cut short)', 'dead-letter', Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': text.slice(0, r.int(0, text.length - 2)) })), null, null);
    }],
    [4, () => {
      const p = ours(hostileTarget());
      p.outer['oslo.version'] = r.pick<unknown>(['1.0', '2', 2.0, 2.1, null, '', ' 2.0', '2.0\u0000', hostileString(r)]);
      pushParts('wrong oslo.version', 'dead-letter', p, null);
    }],
    [3, () => {
      const p = ours(hostileTarget());
      const body = JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': r.pick<unknown>([p.inner, 42, null, [p.inner], true]) });
      push('oslo.message not a JSON string', 'dead-letter', Buffer.from(body), null, null);
    }],
    [10, () => {
      const p = ours(hostileTarget());
      const field = r.pick(REQUIRED_INNER);
      p.inner[field] = r.pick<unknown>([...WRONG_TYPES, null, '']);
      if (r.chance(0.2)) delete p.inner[field];
      pushParts(`wrong type: ${field}`, 'dead-letter', p, null);
    }],
    [8, () => {
      const p = ours(hostileTarget());
      const field = r.pick(REQUIRED_DATA);
      p.data[field] = r.pick<unknown>([...WRONG_TYPES, null, '']);
      pushParts(`wrong type: payload.nova_object.data.${field}`, 'dead-letter', p, null);
    }],
    [8, () => {
      const p = ours(hostileTarget());
      const field = r.pick(OPTIONAL_DATA);
      p.data[field] = r.pick(WRONG_TYPES);
      pushParts(`wrong type: payload.nova_object.data.${field}`, 'dead-letter', p, null);
    }],
    [5, () => {
      const p = ours(hostileTarget());
      const which = r.int(0, 5);
      if (which === 0) p.inner['payload'] = r.pick<unknown>(['payload', 42, null, [], [p.payload]]);
      else if (which === 1) delete p.inner['payload'];
      else if (which === 2) p.payload['nova_object.data'] = r.pick<unknown>(['data', 42, null, [p.data]]);
      else if (which === 3) delete p.payload['nova_object.data'];
      else if (which === 4) p.payload['nova_object.name'] = r.pick<unknown>([...WRONG_TYPES, '', null]);
      else p.payload['nova_object.namespace'] = r.pick(WRONG_TYPES);
      pushParts('wrong type: payload', 'dead-letter', p, null);
    }],
    [3, () => {
      const p = ours(hostileTarget());
      p.inner['priority'] = r.pick(['LOUD', 'info ', '', hostileString(r), 'INFO\u0000']);
      pushParts('bad priority', 'dead-letter', p, null);
    }],
    [3, () => {
      const p = ours(hostileTarget());
      p.inner['timestamp'] = r.pick(['yesterday', '2024-01-01', '2024-01-01T00:00:00Z', '', hostileString(r), '2024-01-01 00:00:00\n']);
      pushParts('bad timestamp', 'dead-letter', p, null);
    }],
    [8, () => {
      const u = hostileTarget();
      const p = ours(u);
      p.data['uuid'] = r.pick([
        `'; DROP TABLE instances; --`,
        `${u}' OR '1'='1`,
        `${u}\n`,
        `${u.slice(0, 8)}\u0000${u.slice(9)}`,
        `<uuid>${u}</uuid>`,
        u.replace(/[0-9a-f]$/, 'g'),
        `${u}0`,
        u.replace(/-/g, ''),
        hostileString(r),
      ]);
      pushParts('uuid that is not a uuid', 'dead-letter', p, null);
    }],
    [1, () => {
      const p = ours(hostileTarget());
      p.data['display_description'] = 'x'.repeat(MIB + r.int(1, 4096));
      pushParts('over the 1 MiB limit', 'dead-letter', p, null);
    }],
    [3, () => {
      const body = serialize(ours(hostileTarget()));
      const at = r.int(1, body.length - 2);
      const bad = r.pick([Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])]);
      push('invalid UTF-8', 'dead-letter', Buffer.concat([body.subarray(0, at), bad, body.subarray(at)]), null, null);
    }],
    [2, () => {
      const depth = r.int(1000, 100_000);
      push('deeply nested body', 'dead-letter', Buffer.from(r.chance(0.5) ? deepText(depth) : JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': deepText(depth) })), null, null);
    }],
    [2, () => {
      // A raw control character inside a JSON string is not JSON.
      const body = serialize(ours(hostileTarget())).toString('utf8');
      push('raw control character in a string', 'dead-letter', Buffer.from(body.replace('INFO', `IN${r.pick(['\u0001', '\u0000', '\n', '\u001f'])}FO`)), null, null);
    }],
    [2, () => {
      push('not an object', 'dead-letter', Buffer.from(r.pick(['', 'null', '"instance.create.end"', '42', '[]', 'true', '\ufeff{}', hostileString(r)])), null, null);
    }],
    [2, () => {
      // No envelope (the v1 shape) but no message either: message_id and the rest missing.
      const bag: Json = {};
      for (let i = 0; i < r.int(1, 5); i++) bag[hostileString(r)] = hostileString(r);
      push('object of hostile keys', 'dead-letter', Buffer.from(JSON.stringify(bag)), null, null);
    }],

    // ---- skip: well-formed, not for this agent ----
    [8, () => {
      const u = hostileTarget();
      const p = instanceParts({
        eventType: r.pick(['instance.create.end', 'instance.power_on.start', 'instance.power_on.end', 'instance.unshelve.end']),
        host: r.pick([`${host} `, ` ${host}`, `${host}\n`, `${host}\u0000`, host.toUpperCase(), `${host}'; DROP TABLE instances; --`, `<${host}/>`, `${host} ${host}`, hostileString(r)]),
        uuid: u,
        publisherHost: host,
      });
      pushParts('host name with spaces, newlines, metacharacters', 'skip', p, u);
    }],
    [2, () => {
      // No host in the payload (as in shelve_offload.end): the publisher's host decides.
      const u = hostileTarget();
      const p = instanceParts({ eventType: 'instance.power_on.start', host: null, uuid: u, publisherHost: r.pick([`${host}\n`, `${host}'--`, `x:${host}`, hostileString(r)]) });
      pushParts('publisher host with metacharacters', 'skip', p, u);
    }],
    [8, () => {
      const u = hostileTarget();
      const p = ours(
        u,
        r.pick([
          'instance.create.end\n',
          'instance.create.end ',
          'instance.create.end; DROP TABLE instances',
          'instance.<script>',
          'instance.exists',
          'instance.delete.end',
          'instance.shutdown.end',
          'INSTANCE.CREATE.END',
          'compute.instance.create.end',
          `instance.${hostileString(r)}`,
          hostileString(r),
        ]),
      );
      pushParts('unknown event', 'skip', p, u);
    }],
    [2, () => {
      const u = hostileTarget();
      pushParts("hwstash's own notification", 'skip', ours(u, r.pick(['hwstash.stash.end', 'hwstash.drift', 'hwstash.domain.update'])), u);
    }],
    [2, () => {
      const other = r.pick([`${host}\n`, `${host}'; --`, hostileString(r)]);
      const binary = r.pick(['nova-compute', 'nova-scheduler', `nova-compute${r.pick(CONTROL)}`]);
      const hostOf = binary === 'nova-compute' ? other : r.pick([host, other]);
      const inner: Json = {
        message_id: randomUUID(),
        publisher_id: `${binary}:${hostOf}`,
        event_type: r.pick(['service.update', 'service.create']),
        priority: 'INFO',
        payload: servicePayload({ host: hostOf, binary }),
        timestamp: pythonTimestamp(),
      };
      pushParts('service event of another host or binary', 'skip', { outer: { 'oslo.version': '2.0' }, inner, payload: {}, data: {} }, null);
    }],
    [1, () => {
      const u = hostileTarget();
      const p = instanceParts({ eventType: 'instance.create.end', host: `${host}-other`, uuid: u, publisherHost: `${host}-other` });
      const size = serialize(p).length;
      p.data['display_description'] = 'y'.repeat(MIB - size - r.int(200, 4000));
      pushParts('just under the 1 MiB limit, another host', 'skip', p, u);
    }],
    [2, () => {
      const u = hostileTarget();
      const p = instanceParts({ eventType: 'instance.create.end', host: `${host}.other`, uuid: u, publisherHost: host });
      // Spliced in as text: JSON.stringify would recurse through the depth.
      p.data['metadata'] = '__deep__';
      const inner = JSON.stringify(p.inner).replace('"__deep__"', deepText(r.int(1000, 50_000)));
      push('deeply nested field, another host', 'skip', Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': inner })), idOf(p), u);
    }],

    // ---- apply: valid events of this host, hostile text where nothing is decided ----
    [6, () => {
      const u = validTarget();
      pushParts('valid', 'apply', ours(u), u);
    }],
    [8, () => {
      const u = validTarget();
      const p = ours(u);
      p.inner['message_id'] = `${hostileString(r)}-${randomUUID()}`;
      for (const f of ['display_name', 'display_description', 'key_name', 'os_type', 'architecture', 'availability_zone', 'node', 'state', 'power_state', 'task_state', 'image_uuid']) {
        if (r.chance(0.6)) p.data[f] = hostileString(r);
      }
      p.data['metadata'] = { [hostileString(r)]: hostileString(r), "'; DROP TABLE instances; --": '<x/>' };
      p.payload['nova_object.name'] = hostileString(r) || 'x';
      p.payload['nova_object.version'] = hostileString(r) || '1';
      if (r.chance(0.5)) p.inner['publisher_id'] = `nova-compute:${hostileString(r)}`;
      p.inner['priority'] = r.pick(['info', 'INFO', 'warn']);
      pushParts('valid, hostile text in free fields', 'apply', p, u);
    }],
    [1, () => {
      const u = validTarget();
      const p = ours(u);
      // Escaped twice on the wire: measured with the hostile text in, then padded byte by byte.
      const prefix = hostileString(r);
      p.data['display_description'] = prefix;
      const size = serialize(p).length;
      p.data['display_description'] = `${prefix}${'z'.repeat(MIB - size - r.int(200, 4000))}`;
      pushParts('valid, just under the 1 MiB limit', 'apply', p, u);
    }],
    [2, () => {
      const u = validTarget();
      const p = ours(u);
      p.data['metadata'] = '__deep__';
      const inner = JSON.stringify(p.inner).replace('"__deep__"', deepText(r.int(1000, 50_000)));
      push('valid, deeply nested field', 'apply', Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': inner })), idOf(p), u);
    }],
    [2, () => {
      const u = validTarget();
      const p = ours(u);
      push('valid, no envelope (messaging v1 driver)', 'apply', Buffer.from(JSON.stringify(p.inner)), idOf(p), u);
    }],
    [1, () => {
      const u = validTarget();
      const p = ours(u);
      p.data['uuid'] = u.toUpperCase();
      pushParts('valid, upper-case uuid', 'apply', p, u);
    }],
  ];

  const total = generators.reduce((n, [w]) => n + w, 0);
  for (let i = 0; i < input.unknownInstances; i++) pushParts('valid event, instance not in the database', 'retry', ours(randomUUID()), null);
  while (out.length < input.count) {
    let x = r.next() * total;
    for (const [w, make] of generators) {
      x -= w;
      if (x < 0) {
        make();
        break;
      }
    }
  }
  return r.shuffle(out);
}
