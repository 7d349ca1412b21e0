import { parseIni, valuesOf, IniParseError } from '../../src/config/ini.js';
import { ConfigError } from '../../src/config/errors.js';

const values = (text: string, section: string, key: string): string[] => valuesOf(parseIni(text, 't.conf'), section, key).map((v) => v.value);

// Expected values below are what oslo.config 9.0.0 (python3-oslo.config, Debian 12) returned for
// the same text, checked with its own ConfigOpts/BaseParser.
describe('parseIni reads files as oslo.config does', () => {
  const text = [
    '[DEFAULT]',
    '# comment',
    '; also comment',
    'hw = x86_64=q35',
    'tu: rabbit://u:p@h:5672/',
    'a:b = c',
    'q = "quoted value"',
    "q1 = 'single'",
    'q2 = "mismatch\'',
    'empty =',
    '  first',
    '\tsecond',
    'rep = one',
    'rep = two',
    'inline = v # not a comment',
    '[Libvirt]',
    'virt_type = qemu',
    '',
  ].join('\r\n');

  test.each([
    ['hw', ['x86_64=q35']],
    ['tu', ['rabbit://u:p@h:5672/']],
    ['a', ['b = c']],
    ['q', ['quoted value']],
    ['q1', ['single']],
    ['q2', ['"mismatch\'']],
    ['empty', ['\nfirst\nsecond']],
    ['rep', ['one', 'two']],
    ['inline', ['v # not a comment']],
  ])('[DEFAULT] %s', (key, expected) => {
    expect(values(text, 'DEFAULT', key)).toEqual(expected);
  });

  test('section names other than DEFAULT are lower-cased', () => {
    expect(values(text, 'libvirt', 'virt_type')).toEqual(['qemu']);
  });

  test('[default] is not [DEFAULT]', () => {
    const doc = parseIni('[default]\nhost = a\n[DEFAULT]\nhost = b\n', 't.conf');
    expect(valuesOf(doc, 'DEFAULT', 'host').map((v) => v.value)).toEqual(['b']);
    expect(valuesOf(doc, 'default', 'host').map((v) => v.value)).toEqual(['a']);
  });

  test('keys are case-sensitive', () => {
    expect(values('[libvirt]\nVirt_Type = lxc\n', 'libvirt', 'virt_type')).toEqual([]);
  });

  test('comments and blank lines end a continued value', () => {
    expect(values('[DEFAULT]\nk = a\n  b\n\nx = 1\n', 'DEFAULT', 'k')).toEqual(['a\nb']);
  });

  test('a quoted first line with continuation keeps its quotes (they do not match on one line)', () => {
    expect(values('[s]\nk = "first\n  second"\n', 's', 'k')).toEqual(['"first\nsecond"']);
  });

  test('records the line of each assignment', () => {
    const doc = parseIni('[s]\n\nk = 1\n# c\nk = 2\n', 'f');
    expect(valuesOf(doc, 's', 'k').map((v) => v.line)).toEqual([3, 5]);
  });

  test('a byte-order mark does not break the first line', () => {
    expect(values('\uFEFF[s]\nk = v\n', 's', 'k')).toEqual(['v']);
  });
});

describe('parse errors name file and line, never the line text', () => {
  test.each([
    ['host = x\n[DEFAULT]\n', 1, /section header/],
    ['[DEFAULT]\nhost = x\n\n  hunter2\n', 4, /continuation/],
    ['[DEFAULT]\n# c\n  hunter2\n', 3, /continuation/],
    ['[DEFAULT\nk = v\n', 1, /must end with \]/],
    ['[]\n', 1, /empty section name/],
    ['[s]\nhunter2\n', 2, /no '=' or ':'/],
    ['[s]\n= hunter2\n', 2, /option name cannot be empty/],
  ])('%j', (text, line, reason) => {
    let error: unknown;
    try {
      parseIni(text, '/etc/nova/nova.conf');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IniParseError);
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as IniParseError;
    expect(e.message.startsWith(`/etc/nova/nova.conf:${line}: `)).toBe(true);
    expect(e.message).toMatch(reason);
    expect(e.line).toBe(line);
    expect(e.message).not.toContain('hunter2');
  });
});
