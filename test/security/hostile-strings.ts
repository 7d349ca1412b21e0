/**
 * Strings an attacker (or a confused tool) could put into an image property, an instance field,
 * a notification or a command line: XML and SQL metacharacters, CDATA and comment terminators,
 * control characters, NUL, lone surrogates. Shared by the security tests and the reliability
 * suite's message generator.
 */

export const XML_META = [
  `<domain type='kvm'>`,
  `]]><!--`,
  `&amp;&lt;&#0;`,
  `"'><script>alert(1)</script>`,
  `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/shadow">]>&e;`,
];

export const SQL_META = [
  `'; DROP TABLE instances; --`,
  `" OR 1=1 --`,
  `\\'; DELETE FROM instance_system_metadata; --`,
  `1); UPDATE instances SET host='evil' WHERE (1=1`,
  '`key`=`key`; --',
];

export const CONTROL = ['\u0000', '\u0001\u0002\u0003', '\r\n', '\t\v\f', '\u001b[2J', '\u007f', '\u2028\u2029', '\ufeff', '\ud800'];

/** Each alone, then glued to a valid-looking value, as an injection would be. */
export const HOSTILE: readonly string[] = [
  ...XML_META,
  ...SQL_META,
  ...CONTROL,
  `virtio'"<>&`,
  `virtio]]>`,
  `virtio' OR '1'='1`,
  `virtio'; DROP TABLE instances; --`,
  `virtio<!--`,
  'virtio\u0000',
  'virtio\n',
  ' virtio',
  'VIRTIO',
  '',
];

/** The hostile strings without control characters: what a name or path may legitimately hold. */
export const PRINTABLE_HOSTILE: readonly string[] = HOSTILE.filter((s) => s !== '' && !/[\u0000-\u001f\u007f\u2028\u2029\ufeff\ud800-\udfff]/.test(s));
