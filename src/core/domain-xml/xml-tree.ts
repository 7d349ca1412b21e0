/**
 * The XML tree every domain-XML module works on: fast-xml-parser's `preserveOrder` form, so
 * element order, comments, CDATA, processing instructions, foreign namespaces and unknown
 * elements survive a rewrite.
 *
 * Invariant: attribute values and text in the tree are kept exactly as they appear in the
 * source, still escaped (the parser runs with entity processing off). Reading goes through
 * `attr()`/`text()`, which decode; writing goes through `setAttr()`/`element()`/`textNode()`,
 * which escape. So an untouched value is written back byte for byte, and nothing reaches the
 * output unescaped.
 */
import type { XMLParser } from 'fast-xml-parser';
import { lazyRequire } from '../../lazy-require.js';
import { DomainXmlError } from './errors.js';

/** One node in preserveOrder form: `{ tag: children, ':@': attributes }`, `{ '#text': raw }`, … */
export type XmlNode = Record<string, unknown>;
export type XmlAttributes = Record<string, string>;

const ATTRS = ':@';
const TEXT = '#text';
const COMMENT = '#comment';
const CDATA = '#cdata';

/** fast-xml-parser options for a lossless, still-escaped tree. */
export const PARSER_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: false,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  commentPropName: COMMENT,
  cdataPropName: CDATA,
  ignoreDeclaration: false,
  ignorePiTags: false,
  jPath: false,
} as const;

const fxp = lazyRequire<typeof import('fast-xml-parser')>('fast-xml-parser');
let parser: XMLParser | undefined;

/**
 * Parse an XML document into its top-level nodes. Refuses what is not well-formed (the parser
 * alone would silently repair `<a><b></a>`) and any DOCTYPE: libvirt never writes one, and its
 * entity declarations would change what the document means.
 */
export function parseXml(xml: string, what = 'XML document'): XmlNode[] {
  if (typeof xml !== 'string' || xml.trim() === '') throw new DomainXmlError(`${what} is empty`);
  if (/<!DOCTYPE/i.test(xml)) throw new DomainXmlError(`${what} has a DOCTYPE declaration; libvirt XML never has one, refusing it`);
  const valid = fxp().XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new DomainXmlError(`${what} is not well-formed XML: ${msg} (line ${line}, column ${col})`);
  }
  parser ??= new (fxp().XMLParser)(PARSER_OPTIONS);
  return parser.parse(xml) as XmlNode[];
}

/** The single root element of a parsed document, which must be named `rootName`. */
export function rootElement(nodes: XmlNode[], rootName: string, what = 'XML document'): XmlNode {
  const roots = nodes.filter(isElement).filter((n) => !tagOf(n).startsWith('?'));
  if (roots.length !== 1) throw new DomainXmlError(`${what} must have exactly one root element, found ${roots.length}`);
  const root = roots[0]!;
  if (tagOf(root) !== rootName) throw new DomainXmlError(`${what} has root element <${tagOf(root)}>, expected <${rootName}>`);
  return root;
}

// ---------------------------------------------------------------------------------------------
// Escaping

// XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates, U+FFFE and U+FFFF.
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function refuseForbidden(value: string, what: string): void {
  const m = FORBIDDEN_CHAR.exec(value);
  if (m) {
    const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new DomainXmlError(`${what} contains U+${code}, which XML cannot carry`);
  }
}

const ATTR_ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};
const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

/** Escape a value for an attribute (either quote style; whitespace kept through normalisation). */
export function escapeAttr(value: string, what = 'attribute value'): string {
  refuseForbidden(value, what);
  return value.replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESCAPES[c]!);
}

/** Escape a value for element text. */
export function escapeText(value: string, what = 'text'): string {
  refuseForbidden(value, what);
  return value.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]!);
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decode the predefined and numeric character references of a raw (escaped) value. */
export function unescapeXml(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new DomainXmlError(`unterminated character reference "${whole}"`);
    const named = NAMED_ENTITIES[ref];
    if (named !== undefined) return named;
    const num = /^#x([0-9a-fA-F]+)$/.exec(ref) ?? /^#([0-9]+)$/.exec(ref);
    if (num) {
      const code = parseInt(num[1]!, ref.startsWith('#x') ? 16 : 10);
      if (code <= 0x10ffff) return String.fromCodePoint(code);
    }
    throw new DomainXmlError(`unknown entity "${whole}"`);
  });
}

// ---------------------------------------------------------------------------------------------
// Node access

export function tagOf(node: XmlNode): string {
  for (const key in node) if (key !== ATTRS) return key;
  return '';
}

export function isElement(node: XmlNode): boolean {
  const tag = tagOf(node);
  return tag !== TEXT && tag !== COMMENT && tag !== CDATA && tag !== '';
}

/** All child nodes of an element (live array). */
export function childNodes(el: XmlNode): XmlNode[] {
  return el[tagOf(el)] as XmlNode[];
}

/** Child elements, optionally only those named `tag`, in document order. */
export function children(el: XmlNode, tag?: string): XmlNode[] {
  const out: XmlNode[] = [];
  for (const n of childNodes(el)) if (isElement(n) && (tag === undefined || tagOf(n) === tag)) out.push(n);
  return out;
}

export function firstChild(el: XmlNode, tag: string): XmlNode | undefined {
  for (const n of childNodes(el)) if (tagOf(n) === tag && isElement(n)) return n;
  return undefined;
}

/** The element at a `/`-separated path of first-matching children, e.g. `os/type`. */
export function findPath(el: XmlNode, path: string): XmlNode | undefined {
  let cur: XmlNode | undefined = el;
  for (const step of path.split('/')) {
    if (!cur) return undefined;
    cur = firstChild(cur, step);
  }
  return cur;
}

function attrsOf(el: XmlNode): XmlAttributes | undefined {
  return el[ATTRS] as XmlAttributes | undefined;
}

/** Decoded attribute value, or undefined when absent. */
export function attr(el: XmlNode, name: string): string | undefined {
  const raw = attrsOf(el)?.[name];
  return raw === undefined ? undefined : unescapeXml(raw);
}

/** Set an attribute, escaping the value; keeps its position when it already exists. */
export function setAttr(el: XmlNode, name: string, value: string): void {
  let attrs = attrsOf(el);
  if (!attrs) {
    attrs = {};
    el[ATTRS] = attrs;
  }
  attrs[name] = escapeAttr(value, `attribute ${name}`);
}

export function removeAttr(el: XmlNode, name: string): boolean {
  const attrs = attrsOf(el);
  if (!attrs || !(name in attrs)) return false;
  delete attrs[name];
  if (Object.keys(attrs).length === 0) delete el[ATTRS];
  return true;
}

/** Names of the element's attributes, in document order. */
export function attrNames(el: XmlNode): string[] {
  const attrs = attrsOf(el);
  return attrs ? Object.keys(attrs) : [];
}

/** Decoded text content of an element (text and CDATA children). */
export function text(el: XmlNode): string {
  let out = '';
  for (const n of childNodes(el)) {
    const tag = tagOf(n);
    if (tag === TEXT) out += unescapeXml(n[TEXT] as string);
    else if (tag === CDATA) for (const c of n[CDATA] as XmlNode[]) out += c[TEXT] as string;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Construction and editing

/** A text node holding `value`, escaped. */
export function textNode(value: string, what?: string): XmlNode {
  return { [TEXT]: escapeText(value, what) };
}

function whitespace(ws: string): XmlNode {
  return { [TEXT]: ws };
}

/**
 * A new element. Attribute values and a string body are escaped here; undefined attributes
 * are left out.
 */
export function element(tag: string, attrs: Record<string, string | undefined> = {}, body: XmlNode[] | string = []): XmlNode {
  if (!/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(tag)) throw new DomainXmlError(`invalid element name ${JSON.stringify(tag)}`);
  const node: XmlNode = { [tag]: typeof body === 'string' ? [textNode(body, `<${tag}> text`)] : body };
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) setAttr(node, name, value);
  return node;
}

function isBlank(node: XmlNode | undefined): boolean {
  return node !== undefined && tagOf(node) === TEXT && /^\s*$/.test(node[TEXT] as string);
}

/** The indentation (whitespace run) that precedes `parent`'s child elements, if pretty-printed. */
function childIndent(parent: XmlNode): string | null {
  const nodes = childNodes(parent);
  for (let i = 0; i < nodes.length; i++) {
    if (isElement(nodes[i]!) || tagOf(nodes[i]!) === COMMENT) {
      const prev = nodes[i - 1];
      return isBlank(prev) ? (prev![TEXT] as string) : null;
    }
  }
  return null;
}

/** Give a freshly built element line breaks and indentation to match where it is inserted. */
function indent(el: XmlNode, ws: string): void {
  const kids = childNodes(el);
  if (!kids.some(isElement)) return;
  const inner = `${ws}  `;
  const out: XmlNode[] = [];
  for (const k of kids) {
    if (isBlank(k)) continue;
    out.push(whitespace(inner), k);
    if (isElement(k)) indent(k, inner);
  }
  out.push(whitespace(ws));
  el[tagOf(el)] = out;
}

/** Lay out a freshly built document root with line breaks and two-space indentation. */
export function indentDocument(root: XmlNode): void {
  indent(root, '\n');
}

/**
 * Insert `child` into `parent` before `ref` (or at the end), following the parent's layout so
 * the output stays readable.
 */
export function insertChild(parent: XmlNode, child: XmlNode, ref?: XmlNode): void {
  const nodes = childNodes(parent);
  const ws = childIndent(parent);
  if (ws !== null) indent(child, ws);
  if (ref) {
    const at = nodes.indexOf(ref);
    if (at < 0) throw new Error('insertChild: reference node is not a child of parent');
    if (ws !== null) nodes.splice(at, 0, child, whitespace(ws));
    else nodes.splice(at, 0, child);
    return;
  }
  const last = nodes[nodes.length - 1];
  if (ws !== null && isBlank(last)) nodes.splice(nodes.length - 1, 0, whitespace(ws), child);
  else if (ws !== null) nodes.push(whitespace(ws), child);
  else nodes.push(child);
}

/** Remove `child` from `parent`, with the whitespace that indented it. */
export function removeChild(parent: XmlNode, child: XmlNode): void {
  const nodes = childNodes(parent);
  const at = nodes.indexOf(child);
  if (at < 0) return;
  if (at > 0 && isBlank(nodes[at - 1])) nodes.splice(at - 1, 2);
  else nodes.splice(at, 1);
  // An element left with only layout whitespace becomes empty (`<controller …/>`).
  if (nodes.every(isBlank)) nodes.length = 0;
}

// ---------------------------------------------------------------------------------------------
// Serialisation

function writeAttrs(el: XmlNode, out: string[]): void {
  const attrs = attrsOf(el);
  if (!attrs) return;
  for (const name in attrs) {
    const raw = attrs[name]!;
    // A raw value holds at most one kind of quote (the one it was not delimited by).
    const q = raw.includes("'") ? '"' : "'";
    out.push(' ', name, '=', q, raw, q);
  }
}

function write(nodes: XmlNode[], out: string[]): void {
  for (const node of nodes) {
    const tag = tagOf(node);
    if (tag === TEXT) {
      out.push(node[TEXT] as string);
    } else if (tag === COMMENT) {
      out.push('<!--');
      for (const c of node[COMMENT] as XmlNode[]) out.push(c[TEXT] as string);
      out.push('-->');
    } else if (tag === CDATA) {
      out.push('<![CDATA[');
      for (const c of node[CDATA] as XmlNode[]) out.push(c[TEXT] as string);
      out.push(']]>');
    } else if (tag.startsWith('?')) {
      out.push('<', tag);
      writeAttrs(node, out);
      out.push('?>');
    } else {
      const kids = node[tag] as XmlNode[];
      out.push('<', tag);
      writeAttrs(node, out);
      if (kids.length === 0) {
        out.push('/>');
      } else {
        out.push('>');
        write(kids, out);
        out.push('</', tag, '>');
      }
    }
  }
}

/** Serialise top-level nodes back to XML text. */
export function serializeXml(nodes: XmlNode[]): string {
  const out: string[] = [];
  nodes.forEach((node, i) => {
    // The parser drops whitespace between top-level nodes; keep the declaration on its own line.
    if (i > 0 && tagOf(nodes[i - 1]!).startsWith('?') && isElement(node)) out.push('\n');
    write([node], out);
  });
  return out.join('');
}
