import { TransportUrlError } from '../../src/bus/errors.js';
import { describeEndpoint, parseTransportUrl, toConnectOptions } from '../../src/bus/transport-url.js';

describe('parseTransportUrl', () => {
  test('one host with everything given', () => {
    expect(parseTransportUrl('rabbit://nova:s3cret@rabbit-1.example.org:5673/openstack')).toEqual([
      { hostname: 'rabbit-1.example.org', port: 5673, username: 'nova', password: 's3cret', vhost: 'openstack', tls: false },
    ]);
  });

  test('several hosts keep their order and their own credentials', () => {
    const eps = parseTransportUrl('rabbit://u1:p1@10.0.0.1:5672,u2:p2@10.0.0.2,u3:p3@10.0.0.3:5700/nova?ssl=1');
    expect(eps.map((e) => [e.username, e.password, e.hostname, e.port, e.vhost, e.tls])).toEqual([
      ['u1', 'p1', '10.0.0.1', 5672, 'nova', true],
      ['u2', 'p2', '10.0.0.2', 5672, 'nova', true],
      ['u3', 'p3', '10.0.0.3', 5700, 'nova', true],
    ]);
  });

  test.each([
    ['rabbit://u:p@h:5672/', '/'],
    ['rabbit://u:p@h:5672', '/'],
    ['rabbit://u:p@h//', '/'],
    ['rabbit://u:p@h/%2F', '/'],
    ['rabbit://u:p@h/my%20vhost', 'my vhost'],
    ['rabbit://u:p@h/a%2520b', 'a%20b'],
  ])('vhost of %s is %j', (url, vhost) => {
    expect(parseTransportUrl(url)[0]!.vhost).toBe(vhost);
  });

  test('user names and passwords are percent-decoded; an unencoded @ belongs to the password', () => {
    const [ep] = parseTransportUrl('rabbit://op%40corp:p%3Aa%2Fs%23s%25@h/');
    expect(ep!.username).toBe('op@corp');
    expect(ep!.password).toBe('p:a/s#s%');
    expect(parseTransportUrl('rabbit://u:p@ss@h/')[0]!.password).toBe('p@ss');
  });

  test('no credentials means guest/guest; IPv6 addresses in brackets', () => {
    expect(parseTransportUrl('rabbit://[fd00::1]:5671,[::1]/')).toEqual([
      { hostname: 'fd00::1', port: 5671, username: 'guest', password: 'guest', vhost: '/', tls: false },
      { hostname: '::1', port: 5672, username: 'guest', password: 'guest', vhost: '/', tls: false },
    ]);
  });

  test.each([
    ['amqp://u:p@h/', /scheme "amqp" is not supported.*rabbit:\/\//],
    ['kafka://h/', /scheme "kafka" is not supported/],
    ['h:5672', /expected rabbit:\/\/user:pass@host:port\/vhost/],
    ['rabbit:///', /no broker host given/],
    ['rabbit://u:p@h:99999/', /host 1: port must be a number from 1 to 65535, got "99999"/],
    ['rabbit://u:p@h1,u:p@h_2:x/', /host 2: port must be a number/],
    ['rabbit://u:p@h/?ssl=maybe', /query option ssl must be one of/],
    ['rabbit://u:p%zz@h/', /bad percent-encoding in the password of host 1/],
    ['rabbit://u:p@[fe80::1/', /host 1: unclosed '\['/],
    ['rabbit://u:p@ho st/', /host 1: "ho st" is not a host name/],
  ])('%s is refused', (url, message) => {
    expect(() => parseTransportUrl(url)).toThrow(TransportUrlError);
    expect(() => parseTransportUrl(url)).toThrow(message);
  });

  test('errors never show the password', () => {
    const secret = 'Zq7-very-secret';
    for (const url of [`amqp://u:${secret}@h/`, `rabbit://u:${secret}@h:notaport/`, `rabbit://u:${secret}@h/?ssl=what`, `nonsense u:${secret}@h`]) {
      let message = '';
      try {
        parseTransportUrl(url);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(secret);
    }
  });
});

describe('endpoints for logs and for amqplib', () => {
  const [ep] = parseTransportUrl('rabbit://nova:s3cret@h:5673/a%25b?ssl=true');

  test('describeEndpoint has no password', () => {
    expect(describeEndpoint(ep!)).toBe('amqps://nova@h:5673/a%25b');
    expect(describeEndpoint(parseTransportUrl('rabbit://u:p@[::1]/')[0]!)).toBe('amqp://u@[::1]:5672/');
  });

  test('connect options carry the vhost encoded once more, because amqplib decodes it', () => {
    const o = toConnectOptions(ep!, { heartbeat: 15 });
    expect(o).toEqual({
      protocol: 'amqps', hostname: 'h', port: 5673, username: 'nova', password: 's3cret', vhost: 'a%25b', heartbeat: 15,
    });
    expect(decodeURIComponent(o.vhost!)).toBe('a%b');
  });
});
