/**
 * Test helpers for the domain-XML tests. They read XML with fast-xml-parser's plain object mode,
 * not with the module under test, so assertions do not depend on the code they check.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';

const here = dirname(fileURLToPath(import.meta.url));
export const DOMAIN_FIXTURES = join(here, '../fixtures/domains');
export const LIBVIRT_FIXTURES = process.env['HWSTASH_LIBVIRT_FIXTURES'] ?? join(here, '../fixtures/libvirt-9.0-qemu-7.2');

export function domainFixture(name: string): string {
  return readFileSync(join(DOMAIN_FIXTURES, name), 'utf8');
}

export function libvirtFixture(name: string): string {
  return readFileSync(join(LIBVIRT_FIXTURES, name), 'utf8');
}

export const FIXTURE_NAMES = ['old-defaults-pc.xml', 'nova-q35.xml', 'scsi-virtio-scsi.xml'] as const;

// Elements that may repeat are always arrays, so tests index them the same way every time.
const REPEATED = new Set(['disk', 'controller', 'interface', 'input', 'video', 'rng', 'graphics', 'serial', 'console', 'address', 'hostdev', 'entry', 'timer']);

const loose = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => REPEATED.has(name),
});

/** Any element in the plain-object view. */
export type Loose = any;

/** The `<domain>` element as a plain object (`@attr` for attributes, arrays for devices). */
export function looseDomain(xml: string): Loose {
  return loose.parse(xml).domain;
}

/** A copy of a domain with a fresh, clearly-test name and uuid, for defining on a shared libvirt. */
export function asScratchDomain(xml: string, tag: string, type?: 'qemu' | 'kvm'): { xml: string; name: string } {
  const name = `hwstash-test-${tag}-${randomUUID().slice(0, 8)}`;
  let out = xml.replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`);
  // The uuid also appears in Nova's sysinfo, which libvirt requires to match.
  const uuid = /<uuid>([^<]*)<\/uuid>/.exec(out)?.[1];
  if (uuid) out = out.split(uuid).join(randomUUID());
  if (type) out = out.replace(/<domain type=(['"])[a-z]+\1/, `<domain type='${type}'`);
  return { xml: out, name };
}

/**
 * Define `xml` on a real libvirt, return what libvirt stored (inactive XML), and undefine it
 * again. libvirt's parser and validator are the judge of the XML.
 */
export async function defineAndReadBack(uri: string, xml: string): Promise<string> {
  const lv = await import('@unraid/libvirt');
  const hv = new lv.Hypervisor({ uri });
  await hv.connectOpen();
  try {
    const dom = await hv.domainDefineXML(xml);
    try {
      return await dom.getXMLDesc(lv.DomainGetXMLDescFlags.INACTIVE);
    } finally {
      await dom.undefine();
    }
  } finally {
    await hv.connectClose();
  }
}

/** Parse an XML fragment (one or more elements) into the plain-object view of its children. */
export function looseFragment(xml: string): Loose {
  return loose.parse(`<fragment>${xml}</fragment>`).fragment;
}
