/**
 * One osinfo-db XML document → the facts the index needs from it, read the way libosinfo 1.10's
 * loader reads them. Pure: text in, data out.
 */
import type { XMLParser } from 'fast-xml-parser';
import { lazyRequire } from '../lazy-require.js';
import { DomainXmlError } from '../core/domain-xml/errors.js';
import { unescapeXml } from '../core/domain-xml/xml-tree.js';

/** What one `<os>` element says. Relations and device links keep document order. */
export interface OsFragment {
  id: string;
  shortIds: string[];
  derivesFrom: string[];
  clones: string[];
  /** Parsed only because libosinfo creates the OS it names; never followed for devices. */
  upgrades: string[];
  /** `./devices/device/@id`, including `supported="false"` links (libosinfo keeps them). */
  deviceLinks: string[];
}

/** What one `<device>` element says; null where this element does not set the property. */
export interface DeviceFragment {
  id: string;
  deviceClass: string | null;
  name: string | null;
}

export interface OsinfoDocument {
  oses: OsFragment[];
  devices: DeviceFragment[];
}

export class OsinfoXmlError extends Error {
  override readonly name = 'OsinfoXmlError';
}

type XmlNode = Record<string, unknown>;

const ATTR = '@';
const TEXT = '#text';

/** Tags read as lists wherever they appear, so one and many look alike. */
const LIST_TAGS = new Set(['os', 'device', 'devices', 'short-id', 'derives-from', 'clones', 'upgrades', 'name', 'class']);

/**
 * Subtrees of `<os>` the index never reads. fast-xml-parser skips to their end tag instead of
 * building them; they hold most of the bytes of the db (media, trees, variants, resources).
 */
const SKIPPED_OS_CHILDREN = ['media', 'tree', 'variant', 'resources', 'installer', 'driver', 'image', 'firmware'];

const COMMON_OPTIONS = {
  // Only `id` attributes are read; skipping the rest (xml:lang on thousands of names) is faster.
  ignoreAttributes: (attribute: string) => attribute !== 'id',
  attributeNamePrefix: ATTR,
  textNodeName: TEXT,
  // libosinfo compares raw text: `<short-id> x</short-id>` is " x", and "36" stays a string.
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  jPath: false,
  stopNodes: SKIPPED_OS_CHILDREN.map((tag) => `libosinfo.os.${tag}`),
  isArray: (tagName: string) => LIST_TAGS.has(tagName),
};

/**
 * The db has no DOCTYPE, so entities are only the predefined five and character references:
 * the parser leaves them alone, the document is checked for any other (checkReferences), and
 * the few strings read are decoded after (unescapeXml), sparing a decoding pass over every text
 * of the file.
 */
const fxp = lazyRequire<typeof import('fast-xml-parser')>('fast-xml-parser');
let plainParser: XMLParser | undefined;
/** A file with a DOCTYPE may declare entities; libxml2 substitutes them, so this parser does. */
let doctypeParser: XMLParser | undefined;

/** An `&` that starts neither a predefined entity nor a character reference. */
const ODD_AMPERSAND = /&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/;
/** Where an `&` is plain text (comments, CDATA sections, processing instructions), or a reference. */
const AMPERSAND_CONTEXT = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|&[^;&<\s]*;?/g;

/**
 * Without a DOCTYPE no entity is declared, and libxml2 refuses the file at any reference it
 * cannot resolve (`&foo;`, a bare `&`), wherever it is, read or not; the parser, with entities
 * off, would pass them all. The message is unescapeXml's, which decodes the strings read.
 */
function checkReferences(text: string, source: string): void {
  if (!ODD_AMPERSAND.test(text)) return;
  for (const m of text.matchAll(AMPERSAND_CONTEXT)) {
    if (!m[0].startsWith('&') || !ODD_AMPERSAND.test(m[0])) continue;
    try {
      unescapeXml(m[0]);
    } catch (err) {
      if (!(err instanceof DomainXmlError)) throw err;
      throw new OsinfoXmlError(`${source}: line ${text.slice(0, m.index).split('\n').length}: ${err.message}`);
    }
  }
}

const identity = (raw: string): string => raw;

/**
 * A line holding nothing but one complete element with an `xml:lang` attribute and plain text:
 * a translation. Half the bytes of `os/` are such lines (names and vendors in a dozen
 * languages).
 */
const LOCALISED_LINE =
  /^[ \t]*<([A-Za-z][\w.-]*) xml:lang="[^"<&]*">(?:[^<&]|&#(?:x[0-9a-fA-F]+|[0-9]+);|&(?:lt|gt|amp|quot|apos);)*<\/\1>[ \t]*\r?\n/gm;

/**
 * Drops translation lines before parsing, for files whose translations nothing reads (an
 * `<os>`'s names and vendors). Each dropped line is a whole well-formed element, so the rest
 * of the document keeps its structure and its well-formedness. Not for device files: there
 * the first `<name>` counts whatever its language.
 */
export function omitLocalisedLines(text: string): string {
  return text.replace(LOCALISED_LINE, '');
}

/**
 * Parses one file of the db. `source` names it in errors. Throws OsinfoXmlError where libosinfo
 * refuses the file (not well-formed, an undeclared entity, wrong root, an entity or link
 * without `id`), which makes libosinfo refuse the whole db.
 */
export function parseOsinfoXml(text: string, source: string): OsinfoDocument {
  const valid = fxp().XMLValidator.validate(text);
  if (valid !== true) {
    throw new OsinfoXmlError(`${source}: not well-formed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const hasDoctype = text.includes('<!DOCTYPE');
  if (!hasDoctype) checkReferences(text, source);
  const parser = hasDoctype
    ? (doctypeParser ??= new (fxp().XMLParser)({ ...COMMON_OPTIONS, processEntities: true, htmlEntities: true }))
    : (plainParser ??= new (fxp().XMLParser)({ ...COMMON_OPTIONS, processEntities: false }));
  const doc = parser.parse(text) as XmlNode;
  // Without a DOCTYPE, checkReferences has passed every reference unescapeXml meets here.
  const decode = hasDoctype ? identity : unescapeXml;
  const rootNames = Object.keys(doc);
  if (rootNames.length !== 1 || rootNames[0] !== 'libosinfo') {
    throw new OsinfoXmlError(`${source}: root element must be <libosinfo>, found <${rootNames.join('>, <') || 'nothing'}>`);
  }
  const reader = new DocumentReader(source, decode);
  const root = asNode(doc.libosinfo);
  return {
    oses: children(root, 'os').map((os) => reader.os(os)),
    devices: children(root, 'device').map((device) => reader.device(device)),
  };
}

class DocumentReader {
  constructor(
    private readonly source: string,
    private readonly decode: (raw: string) => string,
  ) {}

  os(os: XmlNode): OsFragment {
    const id = this.id(os, '<os>');
    const ids = (tag: string): string[] => children(os, tag).map((n) => this.id(n, `<${tag}> of ${id}`));
    return {
      id,
      shortIds: children(os, 'short-id').map((n) => this.decode(textOf(n))),
      derivesFrom: ids('derives-from'),
      clones: ids('clones'),
      upgrades: ids('upgrades'),
      deviceLinks: children(os, 'devices').flatMap((devices) =>
        children(devices, 'device').map((n) => this.id(n, `<devices><device> of ${id}`)),
      ),
    };
  }

  device(device: XmlNode): DeviceFragment {
    return {
      id: this.id(device, '<device>'),
      deviceClass: this.firstText(device, 'class'),
      name: this.firstText(device, 'name'),
    };
  }

  /**
   * libosinfo's `string(./name)` under the C locale: the text of the first such child whatever
   * its `xml:lang` (localised names are looked up only for the process's own languages, and
   * never for C); empty text sets nothing.
   */
  private firstText(node: XmlNode, tag: string): string | null {
    const first = children(node, tag)[0];
    if (first === undefined) return null;
    const text = this.decode(textOf(first));
    return text === '' ? null : text;
  }

  private id(node: XmlNode, what: string): string {
    const id = node[`${ATTR}id`];
    if (typeof id !== 'string') throw new OsinfoXmlError(`${this.source}: ${what} has no id attribute`);
    return this.decode(id);
  }
}

function children(node: XmlNode, tag: string): XmlNode[] {
  const value = node[tag];
  return Array.isArray(value) ? value.map(asNode) : [];
}

/** fast-xml-parser gives a bare string for an element with text only. */
function asNode(value: unknown): XmlNode {
  if (typeof value === 'string') return { [TEXT]: value };
  if (value !== null && typeof value === 'object') return value as XmlNode;
  return {};
}

function textOf(node: XmlNode): string {
  const text = node[TEXT];
  return typeof text === 'string' ? text : '';
}
