/** Writes small synthetic osinfo-db directories for the osinfo tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** OS ids are `${TEST_OS}<name>`, so libosinfo expects them in `os/hwstash.test/<name>.xml`. */
export const TEST_OS = 'http://hwstash.test/';
export const TEST_DEV = 'http://hwstash.test/dev/';

/** Real osinfo-db devices, with the start bucket RULES.md §8 gives for each (size 8, mod 7). */
export const DEV = {
  virtioNet: { id: 'http://pcisig.com/pci/1af4/1000', name: 'virtio-net', cls: 'net' }, // bucket 0
  e1000: { id: 'http://pcisig.com/pci/8086/100e', name: 'e1000', cls: 'net' }, // bucket 2
  e1000e: { id: 'http://pcisig.com/pci/8086/10d3', name: 'e1000e', cls: 'net' }, // bucket 2
  ne2k: { id: 'http://pcisig.com/pci/10ec/8029', name: 'ne2k_pci', cls: 'net' }, // bucket 2
  rtl8139: { id: 'http://pcisig.com/pci/10ec/8139', name: 'rtl8139', cls: 'net' }, // bucket 3
  lsi: { id: 'http://pcisig.com/pci/1000/0012', name: 'lsi', cls: 'block' }, // bucket 1
  virtioScsi: { id: 'http://pcisig.com/pci/1af4/1004', name: 'virtio-scsi', cls: 'block' }, // bucket 2
  virtioBlock: { id: 'http://pcisig.com/pci/1af4/1001', name: 'virtio-block', cls: 'block' }, // bucket 4
} as const;

export class FixtureDb {
  readonly dir: string;

  constructor(prefix = 'hwstash-osinfo-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  /** A file holding `body` inside `<libosinfo>`. */
  write(rel: string, body: string): void {
    this.writeRaw(rel, `<?xml version="1.0"?>\n<libosinfo version="0.0.1">\n${body}\n</libosinfo>\n`);
  }

  writeRaw(rel: string, text: string): void {
    const file = path.join(this.dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }

  /**
   * A device file in osinfo-db's own layout: `http://pcisig.com/pci/1af4/1000` goes to
   * `device/pcisig.com/pci-1af4-1000.d/class.xml` (libosinfo skips entities filed elsewhere).
   */
  device(d: { id: string; name: string; cls: string }): void {
    const [host, ...rest] = d.id.replace(/^http:\/\//, '').split('/');
    this.write(`device/${host}/${rest.join('-')}.d/class.xml`, `  <device id="${d.id}">\n    <name>${d.name}</name>\n    <class>${d.cls}</class>\n  </device>`);
  }

  /**
   * An OS file at `os/hwstash.test/<name>.xml` with short-id `<name>`, translated names (as the
   * real db has), `extra` elements, then `<devices>` linking `devices` (ids) in order.
   */
  os(name: string, devices: readonly string[] = [], extra = '', file = `os/hwstash.test/${name}.xml`): void {
    const links = devices.map((id) => `      <device id="${id}"/>`).join('\n');
    this.write(
      file,
      [
        `  <os id="${TEST_OS}${name}">`,
        `    <short-id>${name}</short-id>`,
        `    <name>Test ${name}</name>`,
        `    <name xml:lang="de">Test ${name} (de)</name>`,
        `    <vendor>hwstash</vendor>`,
        `    <vendor xml:lang="ko">&#xD398;&#xB3C4;</vendor>`,
        extra,
        devices.length > 0 ? `    <devices>\n${links}\n    </devices>` : '',
        '  </os>',
      ]
        .filter((line) => line !== '')
        .join('\n'),
    );
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
