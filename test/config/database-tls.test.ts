/**
 * TLS query parameters of nova.conf's [database] connection, read as SQLAlchemy hands them to
 * PyMySQL (mysql+pymysql) and libpq (psycopg2) — which of them mean TLS, which verify the server's
 * certificate and which its host name — and the refusals. The servers themselves: test/reliability/tls-databases.test.ts.
 */
import { parseDatabaseUrl, DatabaseUrlError, type DatabaseTls } from '../../src/config/database-url.js';

const tls = (url: string, home = '/home/hw') => parseDatabaseUrl(url, { HOME: home }).tls;
const M = 'mysql+pymysql://hw:pw@db.example/nova';
const P = 'postgresql+psycopg2://hw:pw@db.example/nova';

describe('PyMySQL parameters', () => {
  test.each<[string, Partial<DatabaseTls> | undefined]>([
    ['', undefined],
    ['?charset=utf8', undefined],
    // A CA: the chain and the host name are verified (PyMySQL: check_hostname defaults to True with a CA).
    ['?ssl_ca=/etc/ssl/ca.pem', { ca: '/etc/ssl/ca.pem', verifyCert: true, verifyIdentity: true }],
    ['?ssl_ca=/ca.pem&ssl_verify_identity=false', { ca: '/ca.pem', verifyCert: true, verifyIdentity: false }],
    ['?ssl_ca=/ca.pem&ssl_check_hostname=false', { ca: '/ca.pem', verifyCert: true, verifyIdentity: false }],
    ['?ssl_ca=/ca.pem&ssl_verify_cert=false', { ca: '/ca.pem', verifyCert: false, verifyIdentity: false }],
    // Client certificate only: encrypted, unverified, as PyMySQL (no CA = CERT_NONE).
    ['?ssl_cert=/c.pem&ssl_key=/k.pem', { ca: undefined, cert: '/c.pem', key: '/k.pem', verifyCert: false, verifyIdentity: false }],
    ['?ssl_verify_cert=true', { ca: undefined, verifyCert: true, verifyIdentity: false }],
    ['?ssl_verify_identity=true', { ca: undefined, verifyCert: true, verifyIdentity: true }],
    ['?ssl=true', { verifyCert: false }],
    ['?ssl=1&ssl_ca=/ca.pem', { ca: '/ca.pem', verifyCert: true, verifyIdentity: true }],
    ['?ssl=false', undefined],
    ['?ssl_ca=/ca.pem&ssl_disabled=true', undefined],
    // mysqlclient's ssl_mode; PREFERRED never falls back to plain text here.
    ['?ssl_mode=REQUIRED', { verifyCert: false, verifyIdentity: false }],
    ['?ssl_mode=PREFERRED', { verifyCert: false }],
    ['?ssl_mode=VERIFY_CA&ssl_ca=/ca.pem', { ca: '/ca.pem', verifyCert: true, verifyIdentity: true }],
    ['?ssl_mode=VERIFY_IDENTITY', { verifyCert: true, verifyIdentity: true }],
    ['?ssl_mode=disabled&ssl_ca=/ca.pem', undefined],
  ])('%s', (query, expected) => {
    const got = tls(M + query);
    if (expected === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject(expected);
  });

  test('TLS parameters are not "ignored"; the rest still are', () => {
    const o = parseDatabaseUrl(M + '?ssl_ca=/ca.pem&plugin=dbcounter');
    expect(o.ignoredParameters).toEqual(['plugin']);
    expect(o.tls?.source).toBe('ssl_ca=/ca.pem');
  });
});

describe('libpq parameters', () => {
  test.each<[string, Partial<DatabaseTls> | undefined]>([
    ['', undefined],
    ['?sslmode=disable&sslrootcert=/ca.pem', undefined],
    ['?sslmode=require', { ca: undefined, verifyCert: false, verifyIdentity: false }],
    // libpq: require with a root certificate verifies as verify-ca.
    ['?sslmode=require&sslrootcert=/ca.pem', { ca: '/ca.pem', verifyCert: true, verifyIdentity: false }],
    ['?sslmode=verify-ca&sslrootcert=/ca.pem', { ca: '/ca.pem', verifyCert: true, verifyIdentity: false }],
    ['?sslmode=verify-full&sslrootcert=/ca.pem', { ca: '/ca.pem', verifyCert: true, verifyIdentity: true }],
    ['?sslmode=verify-full', { ca: '/home/hw/.postgresql/root.crt', verifyCert: true, verifyIdentity: true }],
    ['?sslmode=verify-full&sslrootcert=system', { ca: undefined, verifyCert: true, verifyIdentity: true }],
    // prefer and allow would fall back to plain text: read as require.
    ['?sslmode=prefer', { verifyCert: false }],
    ['?sslmode=allow', { verifyCert: false }],
    ['?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem', { cert: '/c.pem', key: '/k.pem', verifyIdentity: true }],
    ['?sslrootcert=/ca.pem', { ca: '/ca.pem', verifyCert: true, verifyIdentity: false }],
  ])('%s', (query, expected) => {
    const got = tls(P + query);
    if (expected === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject(expected);
  });
});

test.each([
  [M + '?ssl_mode=SOMETIMES', 'ssl_mode=SOMETIMES is not allowed; allowed: DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY'],
  [M + '?ssl_cert=/c.pem', 'ssl_cert and ssl_key go together'],
  [P + '?sslmode=verify', 'sslmode=verify is not allowed; allowed: disable, allow, prefer, require, verify-ca, verify-full'],
  [P + '?sslmode=require&sslkey=/k.pem', 'sslcert and sslkey go together'],
])('refused: %s', (url, message) => {
  expect(() => parseDatabaseUrl(url)).toThrow(DatabaseUrlError);
  expect(() => parseDatabaseUrl(url)).toThrow(message);
  // The password is never part of the message.
  expect(() => parseDatabaseUrl(url)).not.toThrow(/:pw@/);
});
