import path from 'node:path';
import { loadSettings, type LoadOptions } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { tempDir, type TempDir } from './tmp.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

/** Load only the given texts, as --config-file arguments in this order. */
function load(files: Array<[string, string]>, extra: Partial<LoadOptions> = {}) {
  const paths = files.map(([name, text]) => tmp.write(name, text));
  return loadSettings({ configFiles: paths, env: {}, hostname: 'cmp-7', cwd: tmp.dir, ...extra });
}

function loadError(files: Array<[string, string]>, extra: Partial<LoadOptions> = {}): ConfigError {
  try {
    load(files, extra);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('precedence', () => {
  test('later files override earlier ones per option; the last assignment in a file wins', () => {
    const { settings } = load([
      ['nova.conf', '[DEFAULT]\nhost = a\n[libvirt]\nvirt_type = qemu\nvirt_type = lxc\n[spice]\nenabled = true\n'],
      ['hwstash.conf', '[DEFAULT]\nhost = b\n[spice]\n'],
    ]);
    expect(settings.host).toBe('b');
    expect(settings.libvirt.virtType).toBe('lxc');
    expect(settings.spice.enabled).toBe(true);
    expect(settings.files).toEqual([path.join(tmp.dir, 'nova.conf'), path.join(tmp.dir, 'hwstash.conf')]);
    expect(settings.embedded).toBe(false);
  });

  test('a multi-valued option collects every assignment of every file, in order', () => {
    const { settings } = load([
      ['a.conf', '[oslo_messaging_notifications]\ndriver = messagingv2\ndriver = log\n'],
      ['b.conf', '[oslo_messaging_notifications]\ndriver = noop\n'],
    ]);
    expect(settings.notificationDrivers).toEqual(['messagingv2', 'log', 'noop']);
  });

  test('a bad value overridden by a later file is no error (only the effective value counts)', () => {
    const { settings } = load([
      ['a.conf', '[libvirt]\nvirt_type = xen\n'],
      ['b.conf', '[libvirt]\nvirt_type = kvm\n'],
    ]);
    expect(settings.libvirt.virtType).toBe('kvm');
  });

  test('an OS_<GROUP>__<OPTION> environment variable beats the files', () => {
    const { settings } = load([['a.conf', '[libvirt]\nvirt_type = qemu\n']], { env: { OS_LIBVIRT__VIRT_TYPE: 'lxc', OS_HWSTASH__LOG_LEVEL: 'debug' } });
    expect(settings.libvirt.virtType).toBe('lxc');
    expect(settings.hwstash.logLevel).toBe('debug');
  });

  test('a relative --config-file is read from the working directory', () => {
    tmp.write('rel.conf', '[DEFAULT]\nhost = rel\n');
    const { settings } = loadSettings({ configFiles: ['rel.conf'], env: {}, cwd: tmp.dir });
    expect(settings.host).toBe('rel');
    expect(settings.files).toEqual([path.join(tmp.dir, 'rel.conf')]);
  });

  test('a missing --config-file is an error naming it', () => {
    const missing = path.join(tmp.dir, 'nope.conf');
    expect(() => loadSettings({ configFiles: [missing], env: {} })).toThrow(`cannot read config file ${missing}: no such file`);
  });
});

describe('default search path', () => {
  test('reads those of the default files that exist, in order', () => {
    const nova = tmp.write('etc/nova/nova.conf', '[DEFAULT]\nhost = from-nova\n[libvirt]\nvirt_type = qemu\n');
    const hw = tmp.write('etc/hwstash/hwstash.conf', '[DEFAULT]\nhost = from-hwstash\n');
    const missing = path.join(tmp.dir, 'etc/missing.conf');
    const { settings } = loadSettings({ env: { HWSTASH_DEFAULT_CONFIG_FILES: [nova, missing, hw].join(':') }, cwd: tmp.dir });
    expect(settings.files).toEqual([nova, hw]);
    expect(settings.host).toBe('from-hwstash');
    expect(settings.libvirt.virtType).toBe('qemu');
    expect(settings.embedded).toBe(false);
  });

  test('with none of them, the shipped embedded defaults', () => {
    const { settings, warnings } = loadSettings({
      env: { HWSTASH_DEFAULT_CONFIG_FILES: path.join(tmp.dir, 'none.conf') },
      cwd: tmp.dir,
      hostname: 'demo-host',
    });
    expect(settings.embedded).toBe(true);
    expect(settings.files).toEqual([]);
    expect(settings.libvirt.connectionUri).toBe('test:///default');
    expect(settings.hwstash.stateDir).toBe(path.join(tmp.dir, 'state'));
    expect(settings.databaseConnection).toBe(`sqlite:///${path.join(tmp.dir, 'state')}/hwstash.sqlite`);
    expect(settings.transportUrl).toBe('rabbit://127.0.0.1:5672/');
    expect(settings.host).toBe('demo-host');
    expect(settings.hwstash.queue).toBe('hwstash.demo-host');
    expect(warnings).toEqual([]);
  });

  test('explicit --config-file never falls back to the embedded defaults', () => {
    const { settings } = load([['empty.conf', '']]);
    expect(settings.embedded).toBe(false);
    expect(settings.libvirt.connectionUri).toBe('qemu:///system');
  });
});

describe("Nova's defaults and hwstash's derived values", () => {
  test('an empty file gives Nova (Zed) defaults', () => {
    const { settings } = load([['empty.conf', '']]);
    expect(settings.host).toBe('cmp-7');
    expect(settings.pointerModel).toBe('usbtablet');
    expect(settings.libvirt).toEqual({ virtType: 'kvm', connectionUri: 'qemu:///system', hwMachineType: [], useVirtioForBridges: true, rngDevPath: '/dev/urandom' });
    expect(settings.spice).toEqual({ enabled: false, agentEnabled: true });
    expect(settings.vnc).toEqual({ enabled: true });
    expect(settings.amqpDurableQueues).toBe(false);
    expect(settings.notificationFormat).toBe('unversioned');
    expect(settings.notificationDrivers).toEqual([]);
    expect(settings.hwstash).toMatchObject({
      stateDir: '/var/lib/hwstash',
      osinfoDir: '/usr/share/osinfo',
      exchange: 'nova',
      routingKey: 'versioned_notifications.info',
      queue: 'hwstash.cmp-7',
      deadLetterQueue: 'hwstash.cmp-7.dead',
      metricsAddress: '127.0.0.1:9465',
      startDomains: false,
      batchSize: 200,
      prefetch: 32,
      logLevel: 'info',
      shutdownTimeout: 20,
      publishNotifications: true,
    });
    // Files given, no database: none (whatever opens the database refuses; test/cli/no-database.test.ts).
    expect(settings.databaseConnection).toBe('');
  });

  test.each([
    ['kvm', 'qemu:///system'],
    ['qemu', 'qemu:///system'],
    ['lxc', 'lxc:///'],
    // Nova's LibvirtDriver._uri(): parallels:///system (vz:// is libvirt's other name for it).
    ['parallels', 'parallels:///system'],
  ])('virt_type %s connects to %s by default', (virtType, uri) => {
    expect(load([['n.conf', `[libvirt]\nvirt_type = ${virtType}\n`]]).settings.libvirt.connectionUri).toBe(uri);
  });

  test('libvirt URI: [hwstash] libvirt_uri, else [libvirt] connection_uri', () => {
    expect(load([['n.conf', '[libvirt]\nconnection_uri = qemu+tcp://h/system\n']]).settings.libvirt.connectionUri).toBe('qemu+tcp://h/system');
    expect(
      load([['n.conf', '[libvirt]\nconnection_uri = qemu+tcp://h/system\n[hwstash]\nlibvirt_uri = test:///default\n']]).settings.libvirt.connectionUri,
    ).toBe('test:///default');
  });

  test('database: [hwstash] database_connection, else [database] connection, else none (SQLite in state_dir only on the embedded defaults)', () => {
    const nova = '[database]\nconnection = mysql+pymysql://nova@db/nova\n';
    expect(load([['n.conf', nova]]).settings.databaseConnection).toBe('mysql+pymysql://nova@db/nova');
    expect(load([['n.conf', nova + '[hwstash]\ndatabase_connection = sqlite:////tmp/x.db\n']]).settings.databaseConnection).toBe('sqlite:////tmp/x.db');
    expect(load([['n.conf', '[hwstash]\nstate_dir = rel/state\n']]).settings.databaseConnection).toBe('');
  });

  test('bus: [hwstash] transport_url, else the notification transport, else [DEFAULT] transport_url', () => {
    const base = '[DEFAULT]\ntransport_url = rabbit://rpc-host:5672/\n';
    expect(load([['n.conf', base]]).settings.transportUrl).toBe('rabbit://rpc-host:5672/');
    const notif = base + '[oslo_messaging_notifications]\ntransport_url = rabbit://notif-host:5672/\n';
    expect(load([['n.conf', notif]]).settings.transportUrl).toBe('rabbit://notif-host:5672/');
    expect(load([['n.conf', notif + '[hwstash]\ntransport_url = amqp://own:5672/\n']]).settings.transportUrl).toBe('amqp://own:5672/');
  });

  test("exchange and routing key follow Nova's control_exchange and versioned topics unless set", () => {
    const nova = '[DEFAULT]\ncontrol_exchange = openstack\n[notifications]\nversioned_notifications_topics = vn_a, vn_b\n';
    expect(load([['n.conf', nova]]).settings.hwstash).toMatchObject({ exchange: 'openstack', routingKey: 'vn_a.info' });
    expect(load([['n.conf', nova + '[hwstash]\nexchange = nova\nrouting_key = x.info\n']]).settings.hwstash).toMatchObject({
      exchange: 'nova',
      routingKey: 'x.info',
    });
  });

  test('{host} in queue names is the [DEFAULT] host', () => {
    const { settings } = load([['n.conf', '[DEFAULT]\nhost = cmp-42\n[hwstash]\nqueue = q.{host}.x\ndead_letter_queue = {host}-dead\n']]);
    expect(settings.hwstash.queue).toBe('q.cmp-42.x');
    expect(settings.hwstash.deadLetterQueue).toBe('cmp-42-dead');
  });

  test('lists split at commas, items trimmed, trailing commas dropped', () => {
    const { settings } = load([['n.conf', '[libvirt]\nhw_machine_type = x86_64=q35, aarch64=virt,\n']]);
    expect(settings.libvirt.hwMachineType).toEqual(['x86_64=q35', 'aarch64=virt']);
  });

  test.each([
    ['YES', true],
    ['On', true],
    ['1', true],
    ['true', true],
    ['no', false],
    ['OFF', false],
    ['0', false],
    ['False', false],
  ])('boolean %s', (word, expected) => {
    expect(load([['n.conf', `[vnc]\nenabled = ${word}\n`]]).settings.vnc.enabled).toBe(expected);
  });

  // Accepted by oslo.config's HostDomain type (Nova's [DEFAULT] host).
  test.each([
    ['compute-01', 'compute-01'],
    ['cmp_7.rack-2.example.org', 'cmp_7.rack-2.example.org'],
    ['cmp.example.org.', 'cmp.example.org'],
    ['10.0.0.31', '10.0.0.31'],
    ['fd00::31', 'fd00::31'],
  ])('host %s', (host, expected) => {
    expect(load([['n.conf', `[DEFAULT]\nhost = ${host}\n`]]).settings.host).toBe(expected);
  });

  test('empty pointer_model means none', () => {
    expect(load([['n.conf', '[DEFAULT]\npointer_model =\n']]).settings.pointerModel).toBeNull();
    expect(load([['n.conf', '[DEFAULT]\npointer_model = ps2mouse\n']]).settings.pointerModel).toBe('ps2mouse');
  });

  test('host_arch is canonicalised', () => {
    expect(load([['n.conf', '[hwstash]\nhost_arch = AMD64\n']]).settings.hwstash.hostArch).toBe('x86_64');
  });

  test("instances_path defaults to Nova's $state_path/instances, following state_path", () => {
    expect(load([['n.conf', '']]).settings.instancesPath).toBe('/var/lib/nova/instances');
    expect(load([['n.conf', '[DEFAULT]\nstate_path = /srv/nova\n']]).settings.instancesPath).toBe('/srv/nova/instances');
    expect(load([['n.conf', '[DEFAULT]\nstate_path = /srv/nova\ninstances_path = /data/vms\n']]).settings.instancesPath).toBe('/data/vms');
    expect(load([['n.conf', ''], ['o.conf', '[DEFAULT]\nstate_path = /srv/$host\n']], { hostname: 'cmp-9' }).settings.instancesPath).toBe('/srv/cmp-9/instances');
  });

  test('OSINFO_SYSTEM_DIR overrides [hwstash] osinfo_dir', () => {
    expect(load([['n.conf', '[hwstash]\nosinfo_dir = /a\n']]).settings.hwstash.osinfoDir).toBe('/a');
    expect(load([['n.conf', '[hwstash]\nosinfo_dir = /a\n']], { env: { OSINFO_SYSTEM_DIR: '/b' } }).settings.hwstash.osinfoDir).toBe('/b');
  });

  test('an empty integer means its default (oslo.config reads it as unset)', () => {
    expect(load([['n.conf', '[hwstash]\nbatch_size =\n']]).settings.hwstash.batchSize).toBe(200);
  });
});

describe('unknown sections and options are ignored', () => {
  test('a realistic nova.conf with many options hwstash does not read', () => {
    const nova = [
      '[DEFAULT]',
      'my_ip = 10.0.0.31',
      'use_neutron = true',
      'firewall_driver = nova.virt.firewall.NoopFirewallDriver',
      'instances_path = $state_path/instances',
      '[api_database]',
      'connection = not a url at all',
      '[keystone_authtoken]',
      'www_authenticate_uri = http://controller:5000/',
      'memcached_servers = controller:11211',
      '[libvirt]',
      'virt_type = qemu',
      'images_type = rbd',
      'cpu_mode = host-passthrough',
      '[placement]',
      'region_name = RegionOne',
      '[whatever]',
      'virt_type = xen',
    ].join('\n');
    const { settings } = load([['nova.conf', nova]]);
    expect(settings.libvirt.virtType).toBe('qemu');
  });
});

describe('$ substitution, as oslo.config does it', () => {
  test('$$ and \\$ are a literal $; $name and ${group.name} refer to options', () => {
    const { settings } = load([
      [
        'n.conf',
        [
          '[DEFAULT]',
          'host = cmp-9',
          'rabbit_host = mq.example',
          'transport_url = rabbit://nova:pa$$w\\$rd@${rabbit_host}:5672/',
          '[hwstash]',
          'queue = hwstash-$host',
          'libvirt_uri = ${libvirt.connection_uri}',
          '[libvirt]',
          'connection_uri = qemu+ssh://x/system',
        ].join('\n'),
      ],
    ]);
    expect(settings.transportUrl).toBe('rabbit://nova:pa$w$rd@mq.example:5672/');
    expect(settings.hwstash.queue).toBe('hwstash-cmp-9');
    expect(settings.libvirt.connectionUri).toBe('qemu+ssh://x/system');
  });

  test('a $ not followed by a name stays', () => {
    expect(load([['n.conf', '[hwstash]\nqueue = a$-b$\n']]).settings.hwstash.queue).toBe('a$-b$');
  });

  test('a reference to nothing is an error that says how to write a literal $', () => {
    const e = loadError([['n.conf', '[hwstash]\nqueue = a$nothing\n']]);
    expect(e.message).toBe(`${path.join(tmp.dir, 'n.conf')}: [hwstash] queue: $nothing names no option that is set; write a literal $ as $$`);
  });

  test('a loop of references is an error', () => {
    const e = loadError([['n.conf', '[DEFAULT]\nhost = $control_exchange\ncontrol_exchange = $host\n']]);
    expect(e.message).toMatch(/refers back to itself/);
  });
});

describe('validation: a bad value names file, section, option, value and what is allowed', () => {
  const bool = 'true, 1, on, yes, false, 0, off, no (any case)';
  const hostAllowed = 'an IP address or a host name of labels of letters, digits, - and _ (up to 63 each, 253 in all)';
  test.each([
    ['[libvirt]\nvirt_type = xen\n', '[libvirt] virt_type = xen is not allowed; allowed: kvm, qemu, lxc, parallels'],
    ['[libvirt]\nvirt_type = KVM\n', '[libvirt] virt_type = KVM is not allowed; allowed: kvm, qemu, lxc, parallels'],
    ['[libvirt]\nuse_virtio_for_bridges = maybe\n', `[libvirt] use_virtio_for_bridges = maybe is not allowed; allowed: ${bool}`],
    ['[spice]\nenabled = enabled\n', `[spice] enabled = enabled is not allowed; allowed: ${bool}`],
    ['[DEFAULT]\npointer_model = mouse\n', '[DEFAULT] pointer_model = mouse is not allowed; allowed: usbtablet, ps2mouse, or empty for none'],
    ['[DEFAULT]\nhost =\n', `[DEFAULT] host =  is not allowed; allowed: ${hostAllowed}`],
    ['[DEFAULT]\nhost = cmp 7\n', `[DEFAULT] host = cmp 7 is not allowed; allowed: ${hostAllowed}`],
    ['[DEFAULT]\nhost = -cmp\n', `[DEFAULT] host = -cmp is not allowed; allowed: ${hostAllowed}`],
    ['[DEFAULT]\nhost = cmp.123\n', `[DEFAULT] host = cmp.123 is not allowed; allowed: ${hostAllowed}`],
    ['[DEFAULT]\nhost = 10.0.0.300\n', `[DEFAULT] host = 10.0.0.300 is not allowed; allowed: ${hostAllowed}`],
    ['[notifications]\nnotification_format = json\n', '[notifications] notification_format = json is not allowed; allowed: unversioned, versioned, both'],
    ['[hwstash]\nbatch_size = 0\n', '[hwstash] batch_size = 0 is not allowed; allowed: an integer from 1 to 10000'],
    ['[hwstash]\nbatch_size = 10001\n', '[hwstash] batch_size = 10001 is not allowed; allowed: an integer from 1 to 10000'],
    ['[hwstash]\nprefetch = lots\n', '[hwstash] prefetch = lots is not allowed; allowed: an integer from 1 to 1000'],
    ['[hwstash]\nprefetch = 2.5\n', '[hwstash] prefetch = 2.5 is not allowed; allowed: an integer from 1 to 1000'],
    ['[hwstash]\nshutdown_timeout = -1\n', '[hwstash] shutdown_timeout = -1 is not allowed; allowed: an integer of at least 0'],
    ['[hwstash]\nlog_level = verbose\n', '[hwstash] log_level = verbose is not allowed; allowed: trace, debug, info, warn, error, fatal, silent'],
    ['[hwstash]\nmetrics_address = 9465\n', '[hwstash] metrics_address = 9465 is not allowed; allowed: host:port or [IPv6 address]:port with a port from 0 to 65535, or empty to disable'],
    ['[hwstash]\nmetrics_address = 0.0.0.0:70000\n', '[hwstash] metrics_address = 0.0.0.0:70000 is not allowed; allowed: host:port or [IPv6 address]:port with a port from 0 to 65535, or empty to disable'],
    ['[hwstash]\nstart_domains = y\n', `[hwstash] start_domains = y is not allowed; allowed: ${bool}`],
    ['[hwstash]\nstate_dir =\n', '[hwstash] state_dir =  is not allowed; allowed: any non-empty text'],
  ])('%j', (text, message) => {
    const e = loadError([['nova.conf', text]]);
    expect(e.message).toBe(`${path.join(tmp.dir, 'nova.conf')}: ${message}`);
  });

  test('host_arch names the allowed architectures', () => {
    const e = loadError([['n.conf', '[hwstash]\nhost_arch = arm64\n']]);
    expect(e.message).toMatch(/: \[hwstash\] host_arch = arm64 is not allowed; allowed: .*\baarch64\b.*\bx86_64\b/);
  });

  test('the error names the file the effective value came from, and carries its line', () => {
    const e = loadError([
      ['a.conf', '[libvirt]\nvirt_type = kvm\n'],
      ['b.conf', '[DEFAULT]\n\n[libvirt]\nvirt_type = xen\n'],
    ]);
    expect(e.message.startsWith(`${path.join(tmp.dir, 'b.conf')}: [libvirt] virt_type = xen`)).toBe(true);
    expect(e).toMatchObject({ origin: path.join(tmp.dir, 'b.conf'), line: 4, section: 'libvirt', option: 'virt_type' });
  });

  test('a bad environment value names the variable', () => {
    const e = loadError([['a.conf', '']], { env: { OS_HWSTASH__PREFETCH: '0' } });
    expect(e.message).toBe('environment variable OS_HWSTASH__PREFETCH: [hwstash] prefetch = 0 is not allowed; allowed: an integer from 1 to 1000');
  });

  test('an unsupported database URL names the scheme and the supported ones', () => {
    const e = loadError([['n.conf', '[database]\nconnection = oracle://nova@db/nova\n']]);
    expect(e.message).toBe(
      `${path.join(tmp.dir, 'n.conf')}: [database] connection = oracle://nova@db/nova is not allowed; unsupported scheme oracle; supported: mysql, mysql+pymysql, mysql+mysqldb, postgresql, postgresql+psycopg2, postgres, sqlite`,
    );
  });
});

describe('warnings when Nova would send hwstash nothing', () => {
  test('unversioned format and no messagingv2 driver: two warnings naming the options', () => {
    const { warnings } = load([['n.conf', '[oslo_messaging_notifications]\ndriver = log\n']]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^hwstash hears nothing: .*\[notifications\] notification_format = versioned or both.*unversioned/);
    expect(warnings[1]).toMatch(/^hwstash hears nothing: .*\[oslo_messaging_notifications\] driver = messagingv2.*log/);
  });

  test.each(['versioned', 'both'])('format %s with messagingv2: no warning', (format) => {
    const { warnings } = load([['n.conf', `[notifications]\nnotification_format = ${format}\n[oslo_messaging_notifications]\ndriver = messagingv2\n`]]);
    expect(warnings).toEqual([]);
  });
});
