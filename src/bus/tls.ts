/**
 * TLS to RabbitMQ with oslo.messaging's [oslo_messaging_rabbit] options: ssl, ssl_ca_file,
 * ssl_cert_file, ssl_key_file, ssl_version. The broker's certificate is always verified (chain
 * and host name); a failure is an error that says which host, which check and which file, and
 * is never answered by trying plain text. The files are read on every connection attempt (a
 * renewed certificate is picked up on the next reconnect); their content, the key above all,
 * never appears in a message.
 */
import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { BusConfigError } from './errors.js';

export interface TlsFiles {
  /** [oslo_messaging_rabbit] ssl: TLS for every host, whatever the URL says. */
  enabled: boolean;
  /** '' | 'TLSv1_2' | 'TLSv1_3' | 'SSLv23' */
  version: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export const NO_TLS: TlsFiles = { enabled: false, version: '', caFile: '', certFile: '', keyFile: '' };

/** What tls.connect gets, beside host, port and servername (amqplib adds those). */
export type TlsSocketOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'minVersion' | 'maxVersion' | 'rejectUnauthorized'>;

function readPem(option: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
    throw new BusConfigError(`[oslo_messaging_rabbit] ${option} = ${file}: cannot read it (${why})`);
  }
}

/** Reads the files and checks them; throws BusConfigError naming the option and file. */
export function tlsSocketOptions(files: TlsFiles): TlsSocketOptions {
  const out: TlsSocketOptions = { rejectUnauthorized: true };
  if (files.caFile !== '') {
    const ca = readPem('ssl_ca_file', files.caFile);
    if (!/-----BEGIN CERTIFICATE-----/.test(ca.toString('latin1'))) {
      throw new BusConfigError(`[oslo_messaging_rabbit] ssl_ca_file = ${files.caFile}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
    out.ca = ca;
  }
  if ((files.certFile === '') !== (files.keyFile === '')) {
    throw new BusConfigError('[oslo_messaging_rabbit] ssl_cert_file and ssl_key_file go together: set both or neither');
  }
  if (files.certFile !== '') {
    const cert = readPem('ssl_cert_file', files.certFile);
    if (!/-----BEGIN CERTIFICATE-----/.test(cert.toString('latin1'))) {
      throw new BusConfigError(`[oslo_messaging_rabbit] ssl_cert_file = ${files.certFile}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
    const key = readPem('ssl_key_file', files.keyFile);
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) {
      throw new BusConfigError(`[oslo_messaging_rabbit] ssl_key_file = ${files.keyFile}: holds no PEM private key`);
    }
    out.cert = cert;
    out.key = key;
  }
  switch (files.version) {
    case 'TLSv1_2':
      out.minVersion = 'TLSv1.2';
      out.maxVersion = 'TLSv1.2';
      break;
    case 'TLSv1_3':
      out.minVersion = 'TLSv1.3';
      out.maxVersion = 'TLSv1.3';
      break;
    default:
      out.minVersion = 'TLSv1.2';
  }
  return out;
}

const CHAIN_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * A TLS failure in words: which broker, what failed, against which file. Returns null for an
 * error that is not about TLS. `where` is host:port.
 */
export function describeTlsError(err: unknown, where: string, files: TlsFiles): string | null {
  const e = err as { code?: unknown; message?: unknown; reason?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const raw = typeof e?.message === 'string' ? e.message : String(err);
  // OpenSSL's "801C…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:…file.c:350:" → its words.
  const message = (/SSL routines:[^:]*:([^:]+)/.exec(raw)?.[1] ?? raw.split('\n')[0]!).trim();
  const against = files.caFile !== '' ? `ssl_ca_file = ${files.caFile}` : "the system's trusted CAs (ssl_ca_file is not set)";
  if (CHAIN_CODES.has(code)) {
    return `TLS to ${where} refused: the broker's certificate does not chain to ${against} (${code}: ${message})`;
  }
  if (code === 'CERT_HAS_EXPIRED') return `TLS to ${where} refused: the broker's certificate has expired (${code})`;
  if (code === 'CERT_NOT_YET_VALID') return `TLS to ${where} refused: the broker's certificate is not valid yet (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const reason = typeof e?.reason === 'string' ? e.reason : message;
    return `TLS to ${where} refused: the broker's certificate is not for this host name (${reason}); use the name the certificate gives in transport_url`;
  }
  if (code === 'CERT_REVOKED') return `TLS to ${where} refused: the broker's certificate is revoked (${code})`;
  if (/alert certificate required|peer did not return a certificate/i.test(message)) {
    return `TLS to ${where} refused by the broker: it requires a client certificate; set ssl_cert_file and ssl_key_file (${message})`;
  }
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired|certificate revoked|access denied)/i.test(message)) {
    return `TLS to ${where} refused by the broker: it does not accept the client certificate ssl_cert_file = ${files.certFile || '(none)'} (${message})`;
  }
  if (/wrong version number|packet length too long|unknown protocol|http request/i.test(message)) {
    return `TLS to ${where} failed: the broker does not speak TLS on this port (${message}); hwstash does not fall back to plain text`;
  }
  if (/^ERR_SSL_|^ERR_TLS_|^ERR_OSSL_/.test(code) || /ssl|tls|certificate|handshake/i.test(message)) {
    return `TLS to ${where} failed: ${message}${code ? ` (${code})` : ''}`;
  }
  return null;
}
