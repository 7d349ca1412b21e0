/**
 * Sample configuration files rendered from the option table, in the layout of
 * oslo-config-generator's samples: every option commented out with its help, type and default,
 * so the shipped files cannot drift from what the loader reads.
 */
import { OPTIONS, OPTION_SECTIONS, allowedText, type OptionSpec, type OptionValue } from './options.js';

export interface SampleSpec {
  /** Comment lines at the top (without the leading "# "). */
  readonly header: readonly string[];
  /** Sections to include, in this order; every section of the table when absent. */
  readonly sections?: readonly string[];
  /** Values written uncommented under the commented default, keyed `section.name`. */
  readonly values?: Readonly<Record<string, string>>;
}

const TYPE_NAMES: Record<OptionSpec['type']['kind'], string> = {
  string: 'string value',
  bool: 'boolean value',
  int: 'integer value',
  choice: 'string value',
  list: 'list value',
  multi: 'multi valued',
  architecture: 'string value',
  address: 'string value',
  hostdomain: 'host domain value',
  identifier: 'string value',
};

function wrap(text: string, width = 70): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/)) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') lines.push(current);
  return lines;
}

export function defaultText(spec: OptionSpec): string {
  if (spec.defaultText !== undefined) return `<${spec.defaultText}>`;
  const v: OptionValue = spec.default;
  if (v === null) return '<None>';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function renderOption(spec: OptionSpec, value: string | undefined): string[] {
  const out = wrap(`${spec.help} (${TYPE_NAMES[spec.type.kind]})`).map((l) => `# ${l}`);
  const t = spec.type;
  if (t.kind === 'choice' || t.kind === 'int' || t.kind === 'address') out.push(...wrap(`Allowed: ${allowedText(spec)}`).map((l) => `# ${l}`));
  if (spec.secret) out.push('# Holds a password: keep this file unreadable by others (chmod o-r).');
  out.push(`#${spec.name} = ${defaultText(spec)}`.trimEnd());
  if (value !== undefined) out.push(`${spec.name} = ${value}`.trimEnd());
  return out;
}

export function renderConfigSample(sample: SampleSpec): string {
  const sections = sample.sections ?? OPTION_SECTIONS;
  const out: string[] = sample.header.map((l) => (l === '' ? '#' : `# ${l}`));
  for (const section of sections) {
    out.push('', `[${section}]`);
    for (const spec of OPTIONS.filter((o) => o.section === section)) {
      out.push('', ...renderOption(spec, sample.values?.[`${spec.section}.${spec.name}`]));
    }
  }
  return out.join('\n') + '\n';
}

/** The defaults shipped in config/hwstash.conf: used when neither nova.conf nor hwstash.conf exists. */
export const EMBEDDED_SAMPLE: SampleSpec = {
  header: [
    'hwstash embedded defaults.',
    '',
    'Read only when none of the configuration files exists (/etc/nova/nova.conf,',
    '/etc/hwstash/hwstash.conf) and no --config-file is given: a single machine or a',
    "demo. SQLite in ./state, libvirt's in-process test driver, RabbitMQ on",
    '127.0.0.1 (no credentials here: the AMQP client then uses guest/guest).',
    '',
    'Generated from src/config/options.ts; test/config/samples.test.ts checks it.',
  ],
  values: {
    'DEFAULT.transport_url': 'rabbit://127.0.0.1:5672/',
    'libvirt.connection_uri': 'test:///default',
    // The demo's Nova (hwstash emit) sends versioned notifications.
    'oslo_messaging_notifications.driver': 'messagingv2',
    'notifications.notification_format': 'versioned',
    'hwstash.state_dir': './state',
    // No nova-compute here to start the demo's guests: hwstash starts them itself.
    'hwstash.start_domains': 'true',
    // One machine, no fleet to spread: the demo's host is reconciled before READY.
    'hwstash.startup_jitter': '0',
  },
};

/** config/hwstash.conf.sample: /etc/hwstash/hwstash.conf of a compute host; Nova's options come from nova.conf. */
export const PRODUCTION_SAMPLE: SampleSpec = {
  header: [
    'hwstash configuration sample: copy to /etc/hwstash/hwstash.conf.',
    '',
    "hwstash reads Nova's own options ([DEFAULT] host, transport_url, [database]",
    'connection, [libvirt] virt_type …) from /etc/nova/nova.conf, read first; this',
    'file holds only what is hwstash\'s own. Later files override earlier ones.',
    'If you set a password here (database_connection, transport_url), make the file',
    'unreadable by others: hwstash refuses to start otherwise.',
    '',
    'Generated from src/config/options.ts; test/config/samples.test.ts checks it.',
  ],
  sections: ['hwstash'],
};
