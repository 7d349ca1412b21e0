/**
 * oslo.messaging's notification wire format, decoded into a typed notification and encoded
 * back exactly as Nova (Zed, oslo.messaging 14, `messagingv2` driver) sends it. Pure: no I/O;
 * the only ambient inputs of encoding (a random id, the clock) can be passed in.
 *
 * Wire facts (see fixtures/notifications/README.md): the body is
 * `{"oslo.version": "2.0", "oslo.message": "<JSON text>"}`, so the message is parsed twice;
 * the `messaging` (v1) driver sends the inner message with no envelope. The inner message
 * carries `message_id, publisher_id, event_type, priority, payload, timestamp, _unique_id`
 * then the flattened request context (`_context_*`); the payload is a versioned object.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { MalformedMessageError } from './errors.js';
import { pythonJsonDumps } from './python-json.js';

/** Bodies above this size are refused before parsing (a notification is a few KiB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export const OSLO_VERSION = '2.0';

/** oslo.messaging's notification priorities; the message carries them in upper case. */
export const PRIORITIES = ['AUDIT', 'DEBUG', 'INFO', 'WARN', 'WARNING', 'ERROR', 'CRITICAL', 'SAMPLE'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** `v2`: oslo envelope (driver messagingv2); `v1`: bare inner message (driver messaging). */
export type EnvelopeFormat = 'v2' | 'v1';

/** The InstancePayload fields every `instance.*` notification carries. */
export interface InstanceFields {
  instanceUuid: string;
  /** `d.host`; null in shelve_offload.end and unshelve.start (use `eventHost`). */
  host: string | null;
  node: string | null;
  /** Nova's vm_state (`d.state`). */
  state: string;
  powerState: string | null;
  taskState: string | null;
  /** The image_ref; `""` for servers booted from a volume. */
  imageUuid: string | null;
}

/** The fields of a `service.*` notification (ServiceStatusPayload). */
export interface ServiceFields {
  serviceHost: string;
  binary: string;
}

export interface Notification {
  format: EnvelopeFormat;
  messageId: string;
  publisherId: string;
  /** The part of publisher_id after the first ':' (`nova-compute:compute-0` → `compute-0`). */
  publisherHost: string | null;
  eventType: string;
  priority: Priority;
  /** As sent: UTC, Python `str(datetime)` form. */
  timestamp: string;
  payloadName: string;
  payloadVersion: string;
  payloadNamespace: string | null;
  /** `payload["nova_object.data"]`, as parsed. */
  data: Readonly<Record<string, unknown>>;
  /** `d.request_id`, else `_context_request_id`, else null: for log correlation only. */
  requestId: string | null;
  /** Set for `instance.*` events. */
  instance: InstanceFields | null;
  /** Set for `service.*` events. */
  service: ServiceFields | null;
}

export interface DecodeOptions {
  maxBytes?: number;
}

type Json = Record<string, unknown>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PY_TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v} (${JSON.stringify(v)?.slice(0, 40)})`;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MalformedMessageError(`${field}: not valid JSON (${(err as Error).message})`);
  }
}

function requireObject(v: unknown, field: string): Json {
  if (!isObject(v)) throw new MalformedMessageError(`${field}: expected a JSON object, got ${kindOf(v)}`);
  return v;
}

function requireString(obj: Json, key: string, path: string): string {
  const v = obj[key];
  if (v === undefined) throw new MalformedMessageError(`${path}${key}: missing`);
  if (typeof v !== 'string' || v === '') {
    throw new MalformedMessageError(`${path}${key}: expected a non-empty string, got ${kindOf(v)}`);
  }
  return v;
}

/** A field that may be absent or null; when present it must be a string. */
function optionalString(obj: Json, key: string, path: string): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new MalformedMessageError(`${path}${key}: expected a string or null, got ${kindOf(v)}`);
  return v;
}

function toText(body: Buffer | string, maxBytes: number): string {
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  if (size > maxBytes) throw new MalformedMessageError(`body: ${size} bytes exceeds the limit of ${maxBytes} bytes`);
  if (typeof body === 'string') return body;
  try {
    return utf8.decode(body);
  } catch {
    throw new MalformedMessageError('body: not valid UTF-8');
  }
}

function unwrap(outer: Json): { format: EnvelopeFormat; msg: Json } {
  if (!('oslo.version' in outer) && !('oslo.message' in outer)) return { format: 'v1', msg: outer };
  const version = outer['oslo.version'];
  if (version !== OSLO_VERSION) {
    throw new MalformedMessageError(`oslo.version: expected "${OSLO_VERSION}", got ${kindOf(version)}`);
  }
  const inner = outer['oslo.message'];
  if (typeof inner !== 'string') {
    throw new MalformedMessageError(`oslo.message: expected a string holding JSON text, got ${kindOf(inner)}`);
  }
  return { format: 'v2', msg: requireObject(parseJson(inner, 'oslo.message'), 'oslo.message') };
}

function parsePriority(msg: Json): Priority {
  const raw = requireString(msg, 'priority', '');
  const upper = raw.toUpperCase();
  if (!(PRIORITIES as readonly string[]).includes(upper)) {
    throw new MalformedMessageError(`priority: expected one of ${PRIORITIES.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return upper as Priority;
}

function parseTimestamp(msg: Json): string {
  const ts = requireString(msg, 'timestamp', '');
  if (!PY_TIMESTAMP_RE.test(ts)) {
    throw new MalformedMessageError(`timestamp: expected "YYYY-MM-DD HH:MM:SS[.ffffff]", got ${JSON.stringify(ts)}`);
  }
  return ts;
}

const DATA = 'payload.nova_object.data.';

function instanceFields(d: Json): InstanceFields {
  const instanceUuid = requireString(d, 'uuid', DATA);
  if (!UUID_RE.test(instanceUuid)) {
    throw new MalformedMessageError(`${DATA}uuid: expected a UUID, got ${JSON.stringify(instanceUuid.slice(0, 60))}`);
  }
  return {
    instanceUuid: instanceUuid.toLowerCase(),
    host: optionalString(d, 'host', DATA),
    node: optionalString(d, 'node', DATA),
    state: requireString(d, 'state', DATA),
    powerState: optionalString(d, 'power_state', DATA),
    taskState: optionalString(d, 'task_state', DATA),
    imageUuid: optionalString(d, 'image_uuid', DATA),
  };
}

function serviceFields(d: Json): ServiceFields {
  return { serviceHost: requireString(d, 'host', DATA), binary: requireString(d, 'binary', DATA) };
}

/**
 * Decodes one AMQP body. Throws MalformedMessageError, whose reason names the field, for
 * anything that is not a versioned notification.
 */
export function decodeNotification(body: Buffer | string, options: DecodeOptions = {}): Notification {
  const text = toText(body, options.maxBytes ?? DEFAULT_MAX_BODY_BYTES);
  const outer = requireObject(parseJson(text, 'body'), 'body');
  const { format, msg } = unwrap(outer);

  const messageId = requireString(msg, 'message_id', '');
  const publisherId = requireString(msg, 'publisher_id', '');
  const eventType = requireString(msg, 'event_type', '');
  const priority = parsePriority(msg);
  const timestamp = parseTimestamp(msg);

  if (msg['payload'] === undefined) throw new MalformedMessageError('payload: missing');
  const payload = requireObject(msg['payload'], 'payload');
  if (!('nova_object.data' in payload)) {
    throw new MalformedMessageError(
      'payload: not a versioned object (no nova_object.data); legacy unversioned notifications are not supported',
    );
  }
  const payloadName = requireString(payload, 'nova_object.name', 'payload.');
  const payloadVersion = requireString(payload, 'nova_object.version', 'payload.');
  const payloadNamespace = optionalString(payload, 'nova_object.namespace', 'payload.');
  const data = requireObject(payload['nova_object.data'], 'payload.nova_object.data');

  const colon = publisherId.indexOf(':');
  const publisherHost = colon >= 0 && colon < publisherId.length - 1 ? publisherId.slice(colon + 1) : null;
  const requestId =
    (typeof data['request_id'] === 'string' ? data['request_id'] : null) ??
    (typeof msg['_context_request_id'] === 'string' ? msg['_context_request_id'] : null);

  return {
    format,
    messageId,
    publisherId,
    publisherHost,
    eventType,
    priority,
    timestamp,
    payloadName,
    payloadVersion,
    payloadNamespace,
    data,
    requestId,
    instance: eventType.startsWith('instance.') ? instanceFields(data) : null,
    service: eventType.startsWith('service.') ? serviceFields(data) : null,
  };
}

/**
 * The compute host an event concerns: `d.host` when set, else the host of publisher_id,
 * because Nova sends shelve_offload.end and unshelve.start with `d.host` null.
 */
export function eventHost(n: Notification): string | null {
  const h = n.data['host'];
  return typeof h === 'string' && h !== '' ? h : n.publisherHost;
}

/** Python's `str(datetime)` of a naive UTC time: the fraction is left out when it is zero. */
export function formatPythonTimestamp(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${String(ms * 1000).padStart(6, '0')}`;
}

export interface NotificationInput {
  eventType: string;
  publisherId: string;
  /** A versioned object (see `versionedObject`, `instancePayload`). */
  payload: unknown;
  priority?: Priority | Lowercase<Priority>;
  messageId?: string;
  timestamp?: Date;
  uniqueId?: string;
  /** Request context; written as `_context_<key>` after the message keys, as oslo does. */
  context?: Readonly<Record<string, unknown>>;
  /** `v1` leaves the envelope out, as oslo's `messaging` driver does. */
  format?: EnvelopeFormat;
}

export interface EncodedNotification {
  body: Buffer;
  messageId: string;
  /** The inner message, as encoded. */
  message: Readonly<Record<string, unknown>>;
}

const EVENT_TYPE_RE = /^[A-Za-z0-9_.-]+$/;

export function encodeNotification(input: NotificationInput): EncodedNotification {
  if (typeof input.eventType !== 'string' || !EVENT_TYPE_RE.test(input.eventType)) {
    throw new TypeError(`eventType: expected letters, digits, '.', '_' or '-', got ${JSON.stringify(input.eventType)}`);
  }
  if (typeof input.publisherId !== 'string' || input.publisherId === '') {
    throw new TypeError('publisherId: expected a non-empty string such as "nova-compute:compute-0"');
  }
  const priority = (input.priority ?? 'INFO').toUpperCase();
  if (!(PRIORITIES as readonly string[]).includes(priority)) {
    throw new TypeError(`priority: expected one of ${PRIORITIES.join(', ')}, got ${JSON.stringify(input.priority)}`);
  }
  const messageId = input.messageId ?? randomUUID();
  const uniqueId = input.uniqueId ?? randomBytes(16).toString('hex');
  if (!/^[0-9a-f]{32}$/.test(uniqueId)) throw new TypeError('uniqueId: expected 32 lower-case hex digits');

  const message: Record<string, unknown> = {
    message_id: messageId,
    publisher_id: input.publisherId,
    event_type: input.eventType,
    priority,
    payload: input.payload,
    timestamp: formatPythonTimestamp(input.timestamp ?? new Date()),
    _unique_id: uniqueId,
  };
  for (const [k, v] of Object.entries(input.context ?? {})) message[`_context_${k}`] = v;

  const inner = pythonJsonDumps(message);
  const text =
    (input.format ?? 'v2') === 'v1' ? inner : pythonJsonDumps({ 'oslo.version': OSLO_VERSION, 'oslo.message': inner });
  return { body: Buffer.from(text, 'utf8'), messageId, message };
}

/** The wrapper every versioned object (payloads and their nested objects) travels in. */
export function versionedObject(name: string, version: string, data: Readonly<Record<string, unknown>>, namespace = 'nova') {
  return {
    'nova_object.name': name,
    'nova_object.namespace': namespace,
    'nova_object.version': version,
    'nova_object.data': data,
  };
}

/** InstanceActionPayload 1.8 (Nova Zed), fields in the order Nova serialises them. */
export const INSTANCE_ACTION_PAYLOAD_VERSION = '1.8';
export const INSTANCE_ACTION_PAYLOAD_FIELDS = [
  'fault', 'request_id', 'uuid', 'user_id', 'tenant_id', 'reservation_id', 'display_name',
  'display_description', 'host_name', 'host', 'node', 'os_type', 'architecture',
  'availability_zone', 'flavor', 'image_uuid', 'key_name', 'kernel_id', 'ramdisk_id',
  'created_at', 'launched_at', 'terminated_at', 'deleted_at', 'updated_at', 'state',
  'power_state', 'task_state', 'progress', 'ip_addresses', 'block_devices', 'metadata',
  'locked', 'auto_disk_config', 'action_initiator_user', 'action_initiator_project',
  'locked_reason',
] as const;
export type InstanceActionPayloadField = (typeof INSTANCE_ACTION_PAYLOAD_FIELDS)[number];

export interface InstancePayloadInput {
  uuid: string;
  host: string | null;
  /** Defaults to `host`: the libvirt driver's node is the compute host's own name. */
  node?: string | null;
  state: string;
  powerState: string;
  taskState?: string | null;
  imageUuid?: string | null;
  /** Any other field of the payload; fields not given are null. */
  fields?: Partial<Record<InstanceActionPayloadField, unknown>>;
}

export function instancePayload(input: InstancePayloadInput) {
  if (!UUID_RE.test(input.uuid)) throw new TypeError(`uuid: expected a UUID, got ${JSON.stringify(input.uuid)}`);
  const known = new Set<string>(INSTANCE_ACTION_PAYLOAD_FIELDS);
  for (const k of Object.keys(input.fields ?? {})) {
    if (!known.has(k)) throw new TypeError(`fields.${k}: not a field of InstanceActionPayload ${INSTANCE_ACTION_PAYLOAD_VERSION}`);
  }
  const given: Record<string, unknown> = {
    ...input.fields,
    uuid: input.uuid,
    host: input.host,
    node: input.node === undefined ? input.host : input.node,
    state: input.state,
    power_state: input.powerState,
    task_state: input.taskState ?? null,
    image_uuid: input.imageUuid ?? null,
  };
  const data: Record<string, unknown> = {};
  for (const k of INSTANCE_ACTION_PAYLOAD_FIELDS) data[k] = given[k] ?? null;
  return versionedObject('InstanceActionPayload', INSTANCE_ACTION_PAYLOAD_VERSION, data);
}

/** ServiceStatusPayload 1.1 (Nova Zed), fields in the order Nova serialises them. */
export const SERVICE_STATUS_PAYLOAD_VERSION = '1.1';
export const SERVICE_STATUS_PAYLOAD_FIELDS = [
  'host', 'binary', 'topic', 'report_count', 'disabled', 'disabled_reason',
  'availability_zone', 'last_seen_up', 'forced_down', 'version', 'uuid',
] as const;
export type ServiceStatusPayloadField = (typeof SERVICE_STATUS_PAYLOAD_FIELDS)[number];

export interface ServicePayloadInput {
  host: string;
  binary?: string;
  fields?: Partial<Record<ServiceStatusPayloadField, unknown>>;
}

export function servicePayload(input: ServicePayloadInput) {
  const known = new Set<string>(SERVICE_STATUS_PAYLOAD_FIELDS);
  for (const k of Object.keys(input.fields ?? {})) {
    if (!known.has(k)) throw new TypeError(`fields.${k}: not a field of ServiceStatusPayload ${SERVICE_STATUS_PAYLOAD_VERSION}`);
  }
  const binary = input.binary ?? 'nova-compute';
  const given: Record<string, unknown> = {
    topic: binary.startsWith('nova-') ? binary.slice(5) : null,
    ...input.fields,
    host: input.host,
    binary,
  };
  const data: Record<string, unknown> = {};
  for (const k of SERVICE_STATUS_PAYLOAD_FIELDS) data[k] = given[k] ?? null;
  return versionedObject('ServiceStatusPayload', SERVICE_STATUS_PAYLOAD_VERSION, data);
}
