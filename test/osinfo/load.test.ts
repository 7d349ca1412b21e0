/** What load does with a db that is missing, incomplete, ambiguous or one libosinfo refuses. */
import fs from 'node:fs';
import path from 'node:path';
import { OsInfoDbError, OsInfoIndex, OsInfoUnavailableError } from '../../src/osinfo/index.js';
import { DEV, FixtureDb, TEST_OS } from './fixture-db.js';
import { OracleFailed, runLibosinfoOracle } from './oracle.js';

const dbs: FixtureDb[] = [];
const fixture = (): FixtureDb => {
  const fx = new FixtureDb();
  dbs.push(fx);
  return fx;
};
afterAll(() => dbs.forEach((fx) => fx.remove()));

test('a missing directory is OsInfoUnavailableError naming it', async () => {
  const dir = path.join(fixture().dir, 'nowhere');
  const err = await OsInfoIndex.load(dir).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OsInfoUnavailableError);
  expect((err as OsInfoUnavailableError).dir).toBe(dir);
  expect((err as Error).message).toContain(`osinfo-db directory ${dir} does not exist`);
});

test('a directory without os/ is OsInfoUnavailableError', async () => {
  const fx = fixture();
  fx.device(DEV.e1000);
  await expect(OsInfoIndex.load(fx.dir)).rejects.toThrow(OsInfoUnavailableError);
  await expect(OsInfoIndex.load(fx.dir)).rejects.toThrow(/has no os\/ folder/);
  fs.writeFileSync(path.join(fx.dir, 'os'), 'not a folder');
  await expect(OsInfoIndex.load(fx.dir)).rejects.toThrow(/has no os\/ folder: .*\/os is not a directory/);
});

test('a regular file as the directory is OsInfoUnavailableError', async () => {
  const file = path.join(fixture().dir, 'file.xml');
  fs.writeFileSync(file, '<libosinfo/>');
  await expect(OsInfoIndex.load(file)).rejects.toThrow(OsInfoUnavailableError);
  await expect(OsInfoIndex.load(file)).rejects.toThrow(`osinfo-db directory ${file} is not a directory`);
});

test('without device/, OSes are known but have no device models', async () => {
  const fx = fixture();
  fx.os('bare', [DEV.e1000.id]);
  const index = await OsInfoIndex.load(fx.dir);
  expect(index.lookup('bare')).toEqual({ networkModel: null, diskModel: null });
  expect(index.osCount).toBe(1);
  expect(index.dir).toBe(fx.dir);
});

test('a short-id two OSes claim is reported, and the first OS by file path answers it', async () => {
  const fx = fixture();
  fx.device(DEV.e1000);
  fx.device(DEV.rtl8139);
  fx.os('b-second', [DEV.rtl8139.id], '    <short-id>dup</short-id>');
  fx.os('a-first', [DEV.e1000.id], '    <short-id>dup</short-id>');
  const index = await OsInfoIndex.load(fx.dir);
  expect(index.ambiguousShortIds).toEqual(['dup']);
  // libosinfo's own choice follows its hash-table order of file paths; osinfo-db has no such case.
  expect(index.lookup('dup')).toEqual({ networkModel: 'e1000', diskModel: null });
});

describe.each([
  ['a file that is not well-formed', 'os/hwstash.test/broken.xml', '<libosinfo><os id="x"><short-id>x</short-id></libosinfo>', /not well-formed XML at line 1/],
  ['a truncated file', 'os/hwstash.test/truncated.xml', '<libosinfo version="0.0.1">\n  <os id="http://hwstash.test/truncated">\n', /not well-formed XML/],
  ['an <os> without id', 'os/hwstash.test/noid.xml', '<libosinfo><os><short-id>noid</short-id></os></libosinfo>', /<os> has no id attribute/],
  ['a device link without id', 'os/hwstash.test/nolink.xml', `<libosinfo><os id="${TEST_OS}nolink"><devices><device/></devices></os></libosinfo>`, /<devices><device> of http:\/\/hwstash.test\/nolink has no id attribute/],
  ['a root other than <libosinfo>', 'os/hwstash.test/root.xml', '<osinfo><os id="http://hwstash.test/root"/></osinfo>', /root element must be <libosinfo>, found <osinfo>/],
  ['an undeclared entity in a short-id', 'os/hwstash.test/ent.xml', `<libosinfo><os id="${TEST_OS}ent"><short-id>a&nbsp;b</short-id></os></libosinfo>`, /ent\.xml: line 1: unknown entity "&nbsp;"/],
  ['an undeclared entity in text nothing reads', 'os/hwstash.test/vendor.xml', `<libosinfo>\n<os id="${TEST_OS}vendor">\n<vendor>R&D;</vendor>\n</os>\n</libosinfo>`, /vendor\.xml: line 3: unknown entity "&D;"/],
  ['a bare & in an id', 'os/hwstash.test/amp.xml', `<libosinfo><os id="${TEST_OS}a&b"/></libosinfo>`, /amp\.xml: line 1: unterminated character reference "&b"/],
])('%s', (_what, rel, text, message) => {
  test('is OsInfoDbError naming the file, and libosinfo refuses the db too', async () => {
    const fx = fixture();
    fx.os('fine', [DEV.e1000.id]);
    fs.mkdirSync(path.dirname(path.join(fx.dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(fx.dir, rel), text);
    const err = await OsInfoIndex.load(fx.dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OsInfoDbError);
    expect((err as OsInfoDbError).file).toBe(path.join(fx.dir, rel));
    expect((err as Error).message).toMatch(message);
    expect(() => runLibosinfoOracle(fx.dir)).toThrow(OracleFailed);
  });
});

test('an undeclared entity in a comment, a CDATA section or a processing instruction is text: the db loads, as with libosinfo', async () => {
  const fx = fixture();
  fx.device(DEV.e1000);
  fx.os('fine', [DEV.e1000.id], '    <!-- R&D; & co -->\n    <vendor><![CDATA[R&D; & co]]></vendor>\n    <?hwstash R&D; & co?>');
  const index = await OsInfoIndex.load(fx.dir);
  expect(index.lookup('fine')).toEqual({ networkModel: 'e1000', diskModel: null });
  expect(runLibosinfoOracle(fx.dir, ['fine']).lookups['fine']?.net).toEqual([[DEV.e1000.id, 'e1000']]);
});
