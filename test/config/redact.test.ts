import { passwordsInUrl, redactSecretValue, redactText, redactUrl, urlHasPassword } from '../../src/config/redact.js';

describe('redactUrl', () => {
  test.each([
    ['mysql+pymysql://nova:secret@controller/nova?charset=utf8', 'mysql+pymysql://nova:***@controller/nova?charset=utf8'],
    ['rabbit://u1:p1@h1:5672,u2:p2@h2:5672/vhost', 'rabbit://u1:***@h1:5672,u2:***@h2:5672/vhost'],
    // SQLAlchemy reads the password up to the next @, so / , ? belong to it.
    ['mysql://u:pa/ss@h/db', 'mysql://u:***@h/db'],
    ['mysql://u:pa,ss@h/db', 'mysql://u:***@h/db'],
    ['mysql://u:pa?ss@h/db', 'mysql://u:***@h/db'],
    // oslo.messaging splits user info at the last @ of a host entry.
    ['rabbit://u:p@ss@h:5672/', 'rabbit://u:***@h:5672/'],
    ['postgresql://nova:pw@[fd00::5]:6432/nova', 'postgresql://nova:***@[fd00::5]:6432/nova'],
    ['rabbit://u:%40x%2F@h/', 'rabbit://u:***@h/'],
    ['rabbit://guest@h1,guest@h2/', 'rabbit://guest@h1,guest@h2/'],
    ['rabbit://h1:5672,h2:5672/', 'rabbit://h1:5672,h2:5672/'],
    ['sqlite:////var/lib/hwstash/hwstash.sqlite', 'sqlite:////var/lib/hwstash/hwstash.sqlite'],
    ['qemu+ssh://root@host/system', 'qemu+ssh://root@host/system'],
    ['not a url: u:p@h', 'not a url: u:p@h'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  test('mixed hosts with and without credentials: hides more rather than any password', () => {
    const out = redactUrl('rabbit://h1:5672,u:topsecret@h2/');
    expect(out).not.toContain('topsecret');
    expect(out.startsWith('rabbit://')).toBe(true);
  });
});

describe('redactSecretValue', () => {
  test('URLs lose their password; other text is hidden whole', () => {
    expect(redactSecretValue('mysql://u:p@h/d')).toBe('mysql://u:***@h/d');
    expect(redactSecretValue('mysql:/u:p@h/d')).toBe('***');
    expect(redactSecretValue('')).toBe('');
  });
});

describe('urlHasPassword and passwordsInUrl', () => {
  test.each([
    ['mysql://u:p@h/d', true],
    ['rabbit://u:@h/', false],
    ['rabbit://u@h/', false],
    ['sqlite:///x.db', false],
    ['rabbit://a@h1,b:c@h2/', true],
  ])('%s has a password: %s', (url, expected) => {
    expect(urlHasPassword(url)).toBe(expected);
  });

  test('both the written and the percent-decoded form', () => {
    expect(passwordsInUrl('mysql://u:a%2Fb@h/d').sort()).toEqual(['a%2Fb', 'a/b']);
    expect(passwordsInUrl('rabbit://u:x1@h1,u:x2@h2/').sort()).toEqual(['x1', 'x2']);
  });
});

describe('redactText', () => {
  test('redacts URLs in the text and every given secret', () => {
    const text = 'cannot connect to mysql://nova:pw123@db/nova: access denied for pw123';
    expect(redactText(text, ['pw123'])).toBe('cannot connect to mysql://nova:***@db/nova: access denied for ***');
  });

  test('a secret containing another is hidden whole', () => {
    expect(redactText('x abcdef y', ['abc', 'abcdef'])).toBe('x *** y');
  });

  test('empty secrets change nothing', () => {
    expect(redactText('plain', [''])).toBe('plain');
  });
});
