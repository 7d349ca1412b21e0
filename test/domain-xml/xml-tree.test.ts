import { XMLParser } from 'fast-xml-parser';
import { DomainXmlError } from '../../src/core/domain-xml/errors.js';
import {
  attr,
  children,
  element,
  escapeAttr,
  escapeText,
  firstChild,
  insertChild,
  parseXml,
  removeChild,
  rootElement,
  serializeXml,
  setAttr,
  text,
  unescapeXml,
} from '../../src/core/domain-xml/xml-tree.js';
import { FIXTURE_NAMES, domainFixture, looseDomain } from './helpers.js';

const HOSTILE = `"'><script/>&`;
const entityDecoding = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, processEntities: true, htmlEntities: true });

describe('xml-tree: lossless parse and serialise', () => {
  test('a document with comments, CDATA, entities, character references and namespaces survives byte for byte', () => {
    const doc = [
      `<?xml version='1.0' encoding='UTF-8'?>`,
      `<domain type='kvm'>`,
      `  <!-- written by hand: keep me -->`,
      `  <name>a &amp; b &lt;c&gt; &#233;&#x20AC; "q"</name>`,
      `  <description><![CDATA[raw <b>&amp;</b> stays raw]]></description>`,
      `  <metadata>`,
      `    <nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>`,
      `      <nova:name>it's</nova:name>`,
      `    </nova:instance>`,
      `    <x:unknown xmlns:x='urn:example' x:flag='a&#10;b'/>`,
      `  </metadata>`,
      `  <devices>`,
      `    <disk type='file' device='disk'><source file="/var/lib/it's here"/><target dev='vda' bus='virtio'/></disk>`,
      `    <future-device some-attr='&quot;x&quot;'>text</future-device>`,
      `  </devices>`,
      `</domain>`,
    ].join('\n');
    expect(serializeXml(parseXml(doc))).toBe(doc);
  });

  test('only the quote style is normalised: single quotes unless the value holds one', () => {
    expect(serializeXml(parseXml(`<a x="1" y="it's" z='say "hi"'/>`))).toBe(`<a x='1' y="it's" z='say "hi"'/>`);
  });

  test.each(FIXTURE_NAMES)('libvirt fixture %s reads back to the same content', (name) => {
    const xml = domainFixture(name);
    const out = serializeXml(parseXml(xml));
    expect(looseDomain(out)).toEqual(looseDomain(xml));
    // Layout is kept too: the same lines, only attribute quote style may differ.
    expect(`${out}\n`.replace(/"/g, "'")).toBe(xml.replace(/"/g, "'"));
  });

  test('reading decodes, writing escapes', () => {
    const nodes = parseXml(`<a x='1 &lt; 2 &amp;&amp; &#x41;'>t &gt; &#65;</a>`);
    const a = rootElement(nodes, 'a');
    expect(attr(a, 'x')).toBe('1 < 2 && A');
    expect(text(a)).toBe('t > A');
    setAttr(a, 'y', HOSTILE);
    const out = serializeXml(nodes);
    expect(out).not.toContain('<script');
    expect(entityDecoding.parse(out).a['@y']).toBe(HOSTILE);
  });

  test('element() escapes attributes and text, and the result parses back to the exact strings', () => {
    const values = [HOSTILE, `a\tb\nc\rd`, `]]> -- <!-- &amp; &#0;`, `ünïcödé 🎉`, `' and "`];
    for (const v of values) {
      const xml = serializeXml([element('e', { v }, v)]);
      const parsed = entityDecoding.parse(xml).e;
      expect(parsed['@v']).toBe(v);
      expect(parsed['#text']).toBe(v);
      // and through our own reader as well
      const own = rootElement(parseXml(xml), 'e');
      expect(attr(own, 'v')).toBe(v);
      expect(text(own)).toBe(v);
    }
  });

  test('escapers name what they refuse: characters XML 1.0 cannot carry', () => {
    expect(() => escapeAttr('a\u0001b', 'name')).toThrow(/name contains U\+0001/);
    expect(() => escapeText('\uFFFE')).toThrow(/U\+FFFE/);
    expect(() => escapeText('\uD800x')).toThrow(/U\+D800/);
    expect(escapeText('🎉')).toBe('🎉');
    expect(escapeAttr(HOSTILE)).toBe('&quot;&apos;&gt;&lt;script/&gt;&amp;');
    expect(escapeText(HOSTILE)).toBe(`"'&gt;&lt;script/&gt;&amp;`);
  });

  test('element names are checked, never taken from data', () => {
    expect(() => element('a b')).toThrow(DomainXmlError);
    expect(() => element('<x>')).toThrow(DomainXmlError);
  });

  test('unescapeXml refuses unknown entities and unterminated references', () => {
    expect(unescapeXml('&#x1F389;')).toBe('🎉');
    expect(() => unescapeXml('&nbsp;')).toThrow(/unknown entity "&nbsp;"/);
    expect(() => unescapeXml('a & b')).toThrow(/unterminated/);
  });
});

describe('xml-tree: refusing bad input', () => {
  test.each([
    ['<domain><name></domain>', /not well-formed/],
    ['<domain>', /not well-formed/],
    ['not xml at all', /not well-formed/],
    [`<domain a='1' a='2'/>`, /not well-formed.*repeated/],
    ['', /is empty/],
    ['<!DOCTYPE domain [<!ENTITY x "boom">]><domain>&x;</domain>', /DOCTYPE/],
  ])('%j', (xml, message) => {
    expect(() => parseXml(xml, 'domain XML')).toThrow(message);
  });

  test('exactly one root element of the expected name', () => {
    expect(() => rootElement(parseXml('<a/><b/>'), 'a')).toThrow(/exactly one root element, found 2/);
    expect(() => rootElement(parseXml('<capabilities/>'), 'domain', 'domain XML')).toThrow(/root element <capabilities>, expected <domain>/);
  });
});

describe('xml-tree: editing keeps the layout', () => {
  const doc = ['<domain>', '  <devices>', '    <disk/>', '    <video/>', '  </devices>', '</domain>'].join('\n');

  test('insert before a sibling and at the end, with nested indentation', () => {
    const nodes = parseXml(doc);
    const devices = firstChild(rootElement(nodes, 'domain'), 'devices')!;
    insertChild(devices, element('rng', { model: 'virtio' }, [element('backend', { model: 'random' }, '/dev/urandom')]), children(devices, 'video')[0]);
    insertChild(devices, element('memballoon', { model: 'virtio' }));
    expect(serializeXml(nodes)).toBe(
      [
        '<domain>',
        '  <devices>',
        '    <disk/>',
        "    <rng model='virtio'>",
        "      <backend model='random'>/dev/urandom</backend>",
        '    </rng>',
        '    <video/>',
        "    <memballoon model='virtio'/>",
        '  </devices>',
        '</domain>',
      ].join('\n'),
    );
  });

  test('remove takes the indentation with it; an emptied element collapses', () => {
    const nodes = parseXml(doc);
    const devices = firstChild(rootElement(nodes, 'domain'), 'devices')!;
    removeChild(devices, children(devices, 'disk')[0]!);
    expect(serializeXml(nodes)).toBe(['<domain>', '  <devices>', '    <video/>', '  </devices>', '</domain>'].join('\n'));
    removeChild(devices, children(devices, 'video')[0]!);
    expect(serializeXml(nodes)).toBe(['<domain>', '  <devices/>', '</domain>'].join('\n'));
  });
});
