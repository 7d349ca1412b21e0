/**
 * oslo.messaging's `transport_url` for the rabbit driver, parsed the way oslo's TransportURL
 * does (urlsplit, then the netloc split on ',' into hosts, each `user:pass@host:port`, user and
 * password percent-decoded), into one broker endpoint per host. Pure.
 *
 *   rabbit://user:pass@host1:5672,user:pass@host2:5672/vhost?ssl=1
 *
 * Passwords appear only in the returned endpoints; every message here and every string meant
 * for logs goes through config/redact.ts or `describeEndpoint`.
 */
import type { Options } from 'amqplib';
import { redactSecretValue } from '../config/redact.js';
import { TransportUrlError } from './errors.js';

export const DEFAULT_PORT = 5672;
export const DEFAULT_VHOST = '/';

export interface BrokerEndpoint {
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  /** `?ssl=1` in the URL (oslo's query option). */
  tls: boolean;
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
const HOSTNAME_RE = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const IPV6_RE = /^[0-9A-Fa-f:.]+$/;
const TRUE_WORDS = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE_WORDS = ['0', 'f', 'false', 'off', 'n', 'no'];

interface RawParts {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
}

/** urlsplit's cut: the fragment goes, the query starts at '?', the path at the first '/'. */
function split(url: string): RawParts | null {
  const m = SCHEME_RE.exec(url.trim());
  if (!m) return null;
  let rest = m[2]!;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const query = q >= 0 ? rest.slice(q + 1) : '';
  if (q >= 0) rest = rest.slice(0, q);
  const slash = rest.indexOf('/');
  return {
    scheme: m[1]!.toLowerCase(),
    netloc: slash >= 0 ? rest.slice(0, slash) : rest,
    path: slash >= 0 ? rest.slice(slash) : '',
    query,
  };
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new TransportUrlError(`transport_url: bad percent-encoding in the ${what}`);
  }
}

function parseBool(value: string, name: string): boolean {
  const v = value.toLowerCase();
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  throw new TransportUrlError(
    `transport_url: query option ${name} must be one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}, got ${JSON.stringify(value)}`,
  );
}

function parseHostPort(hostport: string, n: number): { hostname: string; port: number } {
  let hostname: string;
  let portText: string | null = null;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) throw new TransportUrlError(`transport_url: host ${n}: unclosed '[' in an IPv6 address`);
    hostname = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new TransportUrlError(`transport_url: host ${n}: unexpected text after ']'`);
      portText = after.slice(1);
    }
    if (!IPV6_RE.test(hostname)) throw new TransportUrlError(`transport_url: host ${n}: not an IPv6 address inside [ ]`);
  } else {
    const colon = hostport.lastIndexOf(':');
    hostname = colon >= 0 ? hostport.slice(0, colon) : hostport;
    portText = colon >= 0 ? hostport.slice(colon + 1) : null;
    if (hostname === '') throw new TransportUrlError(`transport_url: host ${n}: the host name is empty`);
    if (!HOSTNAME_RE.test(hostname)) {
      throw new TransportUrlError(
        `transport_url: host ${n}: ${JSON.stringify(hostname)} is not a host name (letters, digits, '.', '-', '_') or address`,
      );
    }
  }
  let port = DEFAULT_PORT;
  if (portText !== null && portText !== '') {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new TransportUrlError(`transport_url: host ${n}: port must be a number from 1 to 65535, got ${JSON.stringify(portText)}`);
    }
    port = Number(portText);
  }
  return { hostname, port };
}

/**
 * Every broker of the URL, in the order given (the connection manager tries them round-robin).
 * A host without credentials uses guest/guest, as kombu does.
 */
export function parseTransportUrl(url: string): BrokerEndpoint[] {
  const parts = split(url);
  if (!parts) {
    // Not a URL: where its password is cannot be told, so none of it is shown.
    throw new TransportUrlError(`transport_url: expected rabbit://user:pass@host:port/vhost, got ${JSON.stringify(redactSecretValue(url))}`);
  }
  if (parts.scheme !== 'rabbit') {
    throw new TransportUrlError(
      `transport_url: scheme ${JSON.stringify(parts.scheme)} is not supported; hwstash speaks to RabbitMQ only: use rabbit://`,
    );
  }
  if (/@/.test(parts.path) || /@/.test(parts.query)) {
    throw new TransportUrlError(
      "transport_url: '@' after the host part; percent-encode '/', '?', '#' and '@' in user names and passwords",
    );
  }

  let tls = false;
  for (const pair of parts.query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq >= 0 ? pair.slice(0, eq) : pair, 'query');
    const value = decode(eq >= 0 ? pair.slice(eq + 1) : '', 'query');
    if (key === 'ssl') tls = parseBool(value, 'ssl');
  }

  const rawVhost = parts.path.replace(/^\//, '');
  const vhost = rawVhost === '' ? DEFAULT_VHOST : decode(rawVhost, 'virtual host');

  const hosts = parts.netloc.split(',').filter((h) => h !== '');
  if (hosts.length === 0) throw new TransportUrlError('transport_url: no broker host given (rabbit://user:pass@host:5672/)');

  return hosts.map((segment, i) => {
    const n = i + 1;
    const at = segment.lastIndexOf('@');
    let username = 'guest';
    let password = 'guest';
    if (at >= 0) {
      const userinfo = segment.slice(0, at);
      const colon = userinfo.indexOf(':');
      username = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, `user name of host ${n}`);
      password = colon >= 0 ? decode(userinfo.slice(colon + 1), `password of host ${n}`) : '';
    }
    const { hostname, port } = parseHostPort(at >= 0 ? segment.slice(at + 1) : segment, n);
    return { hostname, port, username, password, vhost, tls };
  });
}

/** How an endpoint appears in logs and events: no password at all. */
export function describeEndpoint(ep: BrokerEndpoint): string {
  const host = ep.hostname.includes(':') ? `[${ep.hostname}]` : ep.hostname;
  const vhost = ep.vhost === DEFAULT_VHOST ? '' : encodeURIComponent(ep.vhost);
  return `${ep.tls ? 'amqps' : 'amqp'}://${encodeURIComponent(ep.username)}@${host}:${ep.port}/${vhost}`;
}

export interface ConnectTuning {
  /** Seconds; 0 disables heartbeats. */
  heartbeat?: number;
  /** [oslo_messaging_rabbit] ssl: TLS even where the URL has no ?ssl=1. */
  forceTls?: boolean;
}

/** Whether this endpoint is reached over TLS (the URL's ?ssl=1 or [oslo_messaging_rabbit] ssl). */
export function usesTls(ep: BrokerEndpoint, forceTls = false): boolean {
  return ep.tls || forceTls;
}

/** amqplib's connect options for one endpoint. */
export function toConnectOptions(ep: BrokerEndpoint, tuning: ConnectTuning = {}): Options.Connect {
  return {
    protocol: usesTls(ep, tuning.forceTls) ? 'amqps' : 'amqp',
    hostname: ep.hostname,
    port: ep.port,
    username: ep.username,
    password: ep.password,
    // amqplib percent-decodes the vhost of the options object once more; encode it so a
    // vhost holding '%' arrives unchanged.
    vhost: encodeURIComponent(ep.vhost),
    ...(tuning.heartbeat !== undefined ? { heartbeat: tuning.heartbeat } : {}),
  };
}
