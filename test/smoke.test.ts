import { XMLParser } from 'fast-xml-parser';
test('esm toolchain loads libvirt binding', async () => {
  const lv = await import('@unraid/libvirt');
  const h = new lv.Hypervisor({ uri: 'test:///default' });
  await h.connectOpen();
  const names = await h.connectListAllDomains();
  expect(names.length).toBeGreaterThan(0);
  const xml = await h.domainGetXMLDesc(names[0]!);
  expect(new XMLParser().parse(xml).domain.name).toBe('test');
  await h.connectClose();
});
