/**
 * One osinfo-db XML document → the facts the index needs from it, read the way libosinfo 1.10's
 * loader reads them. Pure: text in, data out.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

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
 * the parser leaves them alone and the few strings read are decoded after (decodeXmlText),
 * sparing a decoding pass over every text of the file.
 */
const plainParser = new XMLParser({ ...COMMON_OPTIONS, processEntities: false });
/** A file with a DOCTYPE may declare entities; libxml2 substitutes them, so this parser does. */
const doctypeParser = new XMLParser({ ...COMMON_OPTIONS, processEntities: true, htmlEntities: true });

const REFERENCE = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(lt|gt|amp|quot|apos));/g;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes XML's predefined entities and character references, as libxml2 does. */
export function decodeXmlText(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(REFERENCE, (match, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name !== undefined) return PREDEFINED[name] ?? match;
    const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec!, 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : match;
  });
}

const identity = (raw: string): string => raw;

/**
 * A line holding nothing but one complete element with an `xml:lang` attribute and plain text:
 * a translation. Half the bytes of `os/` are such lines (names and vendors in a dozen
 * languages).
 */
const LOCALISED_LINE =
  /^[ \t]*<([A-Za-z][\w.-]*) xml:lang="[^"<&]*">(?:[^<&]|&#x?[0-9a-fA-F]+;|&(?:lt|gt|amp|quot|apos);)*<\/\1>[ \t]*\r?\n/gm;

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
 * refuses the file (not well-formed, wrong root, an entity or link without `id`), which makes
 * libosinfo refuse the whole db.
 */
export function parseOsinfoXml(text: string, source: string): OsinfoDocument {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new OsinfoXmlError(`${source}: not well-formed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const hasDoctype = text.includes('<!DOCTYPE');
  const doc = (hasDoctype ? doctypeParser : plainParser).parse(text) as XmlNode;
  const decode = hasDoctype ? identity : decodeXmlText;
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
