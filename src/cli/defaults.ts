/**
 * `hwstash defaults`: what an instance from this image would get on this host — one image on
 * the command line, or a JSON Lines batch.
 */
import { RELEASE_NAMES } from '../core/releases.js';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import { defaultsForLine, defaultsForObject, type DefaultsOutputLine } from '../core/defaults-line.js';
import { PROPERTY_NAMES } from '../core/properties.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { chooseFormat, collect, renderTable, writeJson } from './output.js';

/** `k=v` items into an object; the first `=` splits, so values may contain `=`. */
export function keyValues(items: string[], option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(4, `${option} ${JSON.stringify(item)}: expected key=value`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

interface DefaultsOptions {
  property: string[];
  conf: string[];
  hostArch?: string;
  virtType?: string;
  vmMode?: string;
  batch?: string;
  format?: string;
  novaRelease?: string;
}

export function registerDefaults(program: Command, ctx: CliContext): void {
  program
    .command('defaults')
    .description(COMMAND_SUMMARIES['defaults'])
    .option('--property <key=value>', 'an image property (repeatable; legacy names allowed)', collect, [])
    .option('--host-arch <arch>', "the host's architecture (default: this machine's)")
    .option('--virt-type <type>', '[libvirt] virt_type: kvm, qemu, lxc or parallels (default: configured)')
    .option('--conf <section.option=value>', `override a nova.conf option (repeatable): libvirt.hw_machine_type, spice.enabled, spice.agent_enabled, vnc.enabled, pointer_model, libvirt.use_virtio_for_bridges`, collect, [])
    .option('--vm-mode <mode>', "the instance's vm_mode (from the image's legacy vm_mode property)")
    .option('--nova-release <release>', `whose rules: ${RELEASE_NAMES.join(', ')} (default: [hwstash] nova_release; auto: the newest, as on a standalone host)`)
    .option('--batch <file>', 'read JSON Lines from FILE (- for stdin) and write one JSON line per input line')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
Exit status: 0 every property resolved (with --batch: every line was answered, each with its own
errors); 1 a property did not resolve, or an error (e.g. the --batch file cannot be read); 4 a
--property or --conf that is not key=value.

Examples:
  hwstash defaults --property os_distro=win10 --property hw_machine_type=q35
  hwstash defaults --property os_distro=fedora36 --virt-type qemu --conf spice.enabled=true --format json
  hwstash defaults --property hw_vif_model=igb --nova-release 2024.2      # refused there, valid from 2025.1
  hwstash defaults --batch images.jsonl > answers.jsonl
  echo '{"id":"a","image_properties":{"hw_vif_model":"VirtualE1000"}}' | hwstash defaults --batch -`)
    .action(async (opts: DefaultsOptions) => {
      if (opts.novaRelease !== undefined) ctx.useRelease(opts.novaRelease);
      if (opts.batch !== undefined) {
        await runBatch(ctx, opts.batch);
        return;
      }
      const conf: Record<string, unknown> = keyValues(opts.conf, '--conf');
      const host: Record<string, unknown> = {};
      if (opts.hostArch !== undefined) host['arch'] = opts.hostArch;
      if (opts.virtType !== undefined) host['virt_type'] = opts.virtType;
      const input = {
        id: 'cli',
        host,
        conf,
        image_properties: keyValues(opts.property, '--property'),
        instance: { vm_mode: opts.vmMode ?? null },
      };
      const format = chooseFormat(opts.format, ctx.io.stdout);
      const line = defaultsForObject(input, 1, ctx.profile(), await ctx.osinfo());
      printSingle(ctx, line, format);
      if (Object.keys(line.errors).length) ctx.exitCode = 1;
    });
}

function printSingle(ctx: CliContext, line: DefaultsOutputLine, format: 'table' | 'json'): void {
  const { id: _id, ...rest } = line;
  if (format === 'json') {
    writeJson(ctx.io.stdout, rest);
    return;
  }
  const rows = PROPERTY_NAMES.map((name) => {
    const p = line.properties[name];
    const e = line.errors[name];
    return [name, p ? (p.value ?? 'none (no such device)') : 'error', p ? p.source : e?.code ?? ''];
  });
  ctx.io.stdout.write(renderTable(['property', 'value', 'source'], rows));
  for (const [key, e] of Object.entries(line.errors)) ctx.io.stdout.write(`error: ${key}: ${e.code}: ${e.message}\n`);
}

async function runBatch(ctx: CliContext, file: string): Promise<void> {
  const base = ctx.profile();
  const osinfo = await ctx.osinfo();
  const input = file === '-' ? ctx.io.stdin : createReadStream(file);
  const opened = new Promise<void>((resolveOpen, reject) => {
    if (file === '-') resolveOpen();
    else input.once('open', () => resolveOpen()).once('error', reject);
  });
  try {
    await opened;
  } catch (err) {
    throw new CliError(1, `--batch ${file}: ${(err as Error).message}`);
  }
  const out = ctx.io.stdout;
  let lineNo = 0;
  let buffer = '';
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo += 1;
    buffer += `${JSON.stringify(defaultsForLine(line, lineNo, base, osinfo))}\n`;
    // Write in chunks, honouring back-pressure, so a large batch neither floods memory nor stalls.
    if (buffer.length > 1 << 16) {
      if (!out.write(buffer)) await new Promise((r) => out.once('drain', r));
      buffer = '';
    }
  }
  if (buffer) out.write(buffer);
}
