/** Where libosinfo looks for an entity's files, and in which order it reads them. */
import { groupEntityFiles } from '../../src/osinfo/entity-files.js';
import { entityLocation } from '../../src/osinfo/osinfo-db.js';

test('a master file and its .d fragments form one entity: master first, fragments sorted', () => {
  expect(
    groupEntityFiles([
      'os/microsoft.com/win-10.d/pre-installable-drivers.xml',
      'os/microsoft.com/win-10.xml',
      'os/microsoft.com/win-10.d/post-installable-drivers.xml',
      'os/fedoraproject.org/fedora-36.xml',
      'device/pcisig.com/pci-1af4-1000.d/class.xml',
      'os/README',
    ]),
  ).toEqual([
    { key: 'device/pcisig.com/pci-1af4-1000', files: ['device/pcisig.com/pci-1af4-1000.d/class.xml'] },
    { key: 'os/fedoraproject.org/fedora-36', files: ['os/fedoraproject.org/fedora-36.xml'] },
    {
      key: 'os/microsoft.com/win-10',
      files: [
        'os/microsoft.com/win-10.xml',
        'os/microsoft.com/win-10.d/post-installable-drivers.xml',
        'os/microsoft.com/win-10.d/pre-installable-drivers.xml',
      ],
    },
  ]);
});

test('fragments sort by code unit, not by locale', () => {
  const [entity] = groupEntityFiles(['os/a/x.d/b.xml', 'os/a/x.d/B.xml', 'os/a/x.d/_.xml']);
  expect(entity!.files).toEqual(['os/a/x.d/B.xml', 'os/a/x.d/_.xml', 'os/a/x.d/b.xml']);
});

test("an entity's file follows from its id (libosinfo's check_id)", () => {
  expect(entityLocation('os', 'http://fedoraproject.org/fedora/36', false)).toBe('os/fedoraproject.org/fedora-36.xml');
  expect(entityLocation('os', 'http://microsoft.com/win/10', true)).toBe('os/microsoft.com/win-10.d');
  expect(entityLocation('device', 'http://pcisig.com/pci/1af4/1000', true)).toBe('device/pcisig.com/pci-1af4-1000.d');
  expect(entityLocation('os', 'http://opensuse.org/opensuse/15.3', false)).toBe('os/opensuse.org/opensuse-15.3.xml');
  // Only http:// is dropped; other bytes outside [A-Za-z0-9._-] become "-", one per UTF-8 byte.
  expect(entityLocation('os', 'https://a.org/b c', false)).toBe('os/https-/-a.org-b-c.xml');
  expect(entityLocation('os', 'http://a.org/é', false)).toBe('os/a.org/--.xml');
});
