/**
 * Keeping passwords out of logs and error messages. URLs here come in two dialects:
 * oslo.messaging transport URLs (`rabbit://u:p@h1:5672,u:p@h2:5672/vhost`, hosts split at
 * commas) and SQLAlchemy URLs (`mysql+pymysql://u:p@host/db`, whose password may hold `/`, `?`
 * or `,` unencoded). When the two readings disagree the redaction covers the wider span: a
 * display string that hides a host name is acceptable, one that shows part of a password is not.
 */

export const REDACTED = '***';

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

interface Userinfo {
  /** Offsets of the password inside the URL (start inclusive, end exclusive). */
  start: number;
  end: number;
}

/** Where the passwords of a URL are; empty when it has none. */
function passwordSpans(url: string): Userinfo[] {
  const scheme = SCHEME.exec(url);
  if (!scheme) return [];
  const base = scheme[0].length;
  const rest = url.slice(base);
  const lastAt = rest.lastIndexOf('@');
  if (lastAt < 0) return [];
  // The network location ends at the first / ? # after the last @ (before it, those characters
  // can only belong to a SQLAlchemy password).
  const tail = rest.slice(lastAt).search(/[/?#]/);
  const netloc = tail < 0 ? rest : rest.slice(0, lastAt + tail);

  const segments = netloc.split(',');
  const spans: Userinfo[] = [];
  if (segments.length > 1 && segments.every((s) => s.includes('@'))) {
    // Transport URL with credentials on every host.
    let offset = base;
    for (const seg of segments) {
      const at = seg.lastIndexOf('@');
      const colon = seg.indexOf(':');
      if (colon >= 0 && colon < at) spans.push({ start: offset + colon + 1, end: offset + at });
      offset += seg.length + 1;
    }
    return spans;
  }
  // One userinfo: from the first ':' up to the last '@'. With several hosts of which only some
  // carry credentials, or a password holding a comma, this also hides host names: safe side.
  const at = netloc.lastIndexOf('@');
  const colon = netloc.indexOf(':');
  if (colon >= 0 && colon < at) spans.push({ start: base + colon + 1, end: base + at });
  return spans;
}

/** The URL with every password replaced by `***`; other URLs and non-URLs are returned as given. */
export function redactUrl(url: string): string {
  const spans = passwordSpans(url);
  let out = url;
  for (const span of [...spans].reverse()) out = out.slice(0, span.start) + REDACTED + out.slice(span.end);
  return out;
}

/**
 * The display form of a value that may hold a password: a URL with its password hidden; any
 * other non-empty text hidden whole, since where its password is cannot be told.
 */
export function redactSecretValue(value: string): string {
  if (SCHEME.test(value)) return redactUrl(value);
  return value === '' ? '' : REDACTED;
}

/** True when the URL carries a non-empty password. */
export function urlHasPassword(url: string): boolean {
  return passwordSpans(url).some((s) => s.end > s.start);
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The passwords in a URL, as written and percent-decoded (both may show up in messages). */
export function passwordsInUrl(url: string): string[] {
  const found = new Set<string>();
  for (const span of passwordSpans(url)) {
    const raw = url.slice(span.start, span.end);
    if (raw === '') continue;
    found.add(raw);
    found.add(percentDecode(raw));
  }
  return [...found];
}

const URL_IN_TEXT = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"<>]*/g;

/**
 * Text fit for a log line or an error message: every URL in it redacted, then every given
 * secret (longest first, so one secret containing another is hidden whole) replaced by `***`.
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text.replace(URL_IN_TEXT, (u) => redactUrl(u));
  const ordered = [...new Set(secrets)].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  for (const secret of ordered) out = out.split(secret).join(REDACTED);
  return out;
}
