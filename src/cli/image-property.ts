/**
 * `hwstash image-property list|show|set|history|revert`: nova-manage's `image_property`
 * commands (names, check order, exit codes 0–6, the stopped/shelved/shelved_offloaded rule)
 * over the 11 stashed properties, plus checks against this host, a dry run, history, revert and
 * a bulk set (bulk-set.ts). Nothing is written on any failure.
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import { PROPERTY_NAMES, isPropertyName, type PropertyName } from '../core/properties.js';
import { runBulkSet } from './bulk-set.js';
import type { CliContext } from './context.js';
import { withStore } from './db.js';
import { CliError, EXIT } from './errors.js';
import { changeEnv, parseProperties, type ChangeOptions, type SetOptions } from './property-args.js';
import { chooseFormat, collect, renderTable, writeJson, type Format } from './output.js';
import {
  checkedWanted,
  domainDiff,
  evaluateChange,
  liveInstance,
  notFound,
  plannedWrites,
  refusal,
  reportFindings,
  requireAllowedState,
  requireHistoryTable,
  retryOnStashChange,
  writeChange,
  type ChangeEnv,
  type Evaluation,
  type Wanted,
} from './property-change.js';
import { historyTable, storedJson, storedText, writesJson, writesTable } from './property-output.js';
import { RevertEntryError, revertPlan } from './revert-plan.js';

function requestedText(items: readonly string[]): string {
  return items.join(' ');
}

/** Checks, then the write (or, with --dry-run, what it would write and do to the domain). */
async function applyChange(
  env: ChangeEnv,
  ev: Evaluation,
  opts: ChangeOptions,
  format: Format,
  source: 'set' | 'revert',
  heading: string,
): Promise<void> {
  const { ctx } = env;
  const uuid = ev.instance.uuid;
  reportFindings(ctx, uuid, ev.findings);
  if (ev.problems.length) throw refusal(uuid, ev.problems);
  const dryRun = opts.dryRun ?? false;
  let writes;
  let domain: { diff: string | null; notes: string[] } = { diff: null, notes: [] };
  if (dryRun) {
    writes = plannedWrites(ev);
    domain = await domainDiff(env, ev);
    for (const n of domain.notes) ctx.warn(`instance ${uuid}: ${n}`);
  } else {
    await requireHistoryTable(env.store);
    writes = await writeChange(env, ev, { source, reason: opts.reason ?? null });
  }
  const changed = writes.filter((w) => w.changed).length;
  if (format === 'json') {
    writeJson(ctx.io.stdout, {
      instance: uuid,
      dryRun,
      written: !dryRun && changed > 0,
      changes: writesJson(writes),
      ...(dryRun ? { domainDiff: domain.diff } : {}),
      notChecked: ev.findings.notChecked,
      warnings: [...ev.findings.warnings, ...domain.notes],
    });
    return;
  }
  const out = ctx.io.stdout;
  const what = `${changed} propert${changed === 1 ? 'y' : 'ies'}`;
  if (dryRun) out.write(`instance ${uuid}: dry run, nothing written; ${heading} would change ${what}\n`);
  else if (changed === 0) out.write(`instance ${uuid}: nothing to change, every value is already so\n`);
  else out.write(`instance ${uuid}: ${heading} wrote ${what}, recorded in its history\n`);
  out.write(writesTable(writes));
  if (dryRun) {
    if (domain.diff === null) out.write('no libvirt domain to compare (none defined, or libvirt not asked)\n');
    else if (domain.diff === '') out.write('the libvirt domain definition would not change\n');
    else out.write(`the libvirt domain definition would change at the next power-on or unshelve:\n${domain.diff}`);
  } else if (changed > 0) {
    out.write(`the libvirt domain follows at the next power-on or unshelve (or now: hwstash domain sync ${uuid})\n`);
  }
}

async function setOne(ctx: CliContext, uuid: string, opts: SetOptions): Promise<void> {
  const format = chooseFormat(opts.format, ctx.io.stdout);
  await withStore(ctx, async (store) => {
    const command = 'image-property set';
    const requested = requestedText(opts.property);
    let env: ChangeEnv | null = null;
    // A stash committed between the checks and the write (the agent stashing this instance right
    // now) is read, checked and written over again: the operator's value wins. A revert is not
    // retried: what "the latest write" is may have changed with it.
    await retryOnStashChange(async () => {
      const live = await liveInstance(store, uuid).catch((err: unknown) => {
        if (err instanceof CliError && requested) throw new CliError(err.exitCode, `${err.message} (requested: ${requested})`);
        throw err;
      });
      const { instance } = live;
      requireAllowedState(instance, command, requested);
      env ??= changeEnv(ctx, store, opts, command);
      const wanted = checkedWanted(instance.uuid, parseProperties(opts.property, '--property', `instance ${instance.uuid}`), env.profile);
      const ev = await evaluateChange(env, live, wanted);
      await applyChange(env, ev, opts, format, 'set', 'set');
    });
  });
}

interface RevertOptions extends ChangeOptions {
  to?: string;
}

async function revert(ctx: CliContext, uuid: string, opts: RevertOptions): Promise<void> {
  const format = chooseFormat(opts.format, ctx.io.stdout);
  let to: number | null = null;
  if (opts.to !== undefined) {
    if (!/^\d+$/.test(opts.to)) throw new CliError(EXIT.badFormat, `--to ${JSON.stringify(opts.to)}: expected a history entry number (see image-property history ${uuid})`);
    to = Number(opts.to);
  }
  await withStore(ctx, async (store) => {
    const command = 'image-property revert';
    const live = await liveInstance(store, uuid);
    const { instance } = live;
    requireAllowedState(instance, command);
    let plan;
    try {
      plan = revertPlan(await store.history(instance.uuid), to);
    } catch (err) {
      if (err instanceof RevertEntryError) throw new CliError(EXIT.badFormat, `instance ${instance.uuid}: ${err.message}`);
      throw err;
    }
    if (plan.targets.length === 0) {
      if (format === 'json') writeJson(ctx.io.stdout, { instance: instance.uuid, dryRun: opts.dryRun ?? false, written: false, changes: [] });
      else ctx.io.stdout.write(`instance ${instance.uuid}: nothing to revert (no history entries${to === null ? '' : ` after entry ${to}`})\n`);
      return;
    }
    const env = changeEnv(ctx, store, opts, command);
    // Restored values pass the same checks as set; NULL and "not stashed" need none.
    const values = plan.targets.filter((t) => t.present && t.value !== null);
    const checked = checkedWanted(instance.uuid, values.map((t) => ({ property: t.property, raw: t.value! })), env.profile);
    const wanted: Wanted[] = plan.targets.map((t) => {
      if (!t.present) return { property: t.property, value: null, remove: true };
      if (t.value === null) return { property: t.property, value: null, remove: false };
      return checked.find((c) => c.property === t.property)!;
    });
    const ev = await evaluateChange(env, live, wanted);
    const entries = plan.undone.map((h) => h.id);
    const heading = `revert of history entr${entries.length === 1 ? 'y' : 'ies'} ${entries.join(', ')}`;
    await applyChange(env, ev, { ...opts, reason: opts.reason ?? `revert of history entries ${entries.join(', ')}` }, format, 'revert', heading);
  });
}

export function registerImageProperty(program: Command, ctx: CliContext): void {
  const group = program
    .command('image-property')
    .description(COMMAND_SUMMARIES['image-property'])
    .addHelpText(
      'after',
      `
Properties: ${PROPERTY_NAMES.join(', ')}.
set and revert need the instance in vm_state stopped, shelved or shelved_offloaded.

Exit status (as nova-manage image_property): 0 ok, 1 unexpected error, 2 instance not found,
3 property not stashed (show) or instance state does not allow it (set, revert), 4 bad --property
format, 5 unknown property name, 6 invalid value (not in Nova's enum, contains '=', not valid for
[libvirt] virt_type, or this host's QEMU cannot run it).

Examples:
  hwstash image-property list 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10
  hwstash image-property show 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 hw_disk_bus
  hwstash image-property set 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --property hw_disk_bus=virtio --property hw_cdrom_bus=sata
  hwstash image-property set 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --property hw_machine_type=pc-q35-7.2 --dry-run
  hwstash image-property set --all --where hw_video_model=cirrus --property hw_video_model=virtio --dry-run
  hwstash image-property history 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10
  hwstash image-property revert 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --to 42`,
    );

  group
    .command('list <uuid>')
    .description('every one of the 11 properties with its stashed value, or "not stashed"')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
Exit status: 0 ok, 1 unexpected error, 2 instance not found.

Examples:
  hwstash image-property list 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10
  hwstash image-property list 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --format json`)
    .action(async (uuid: string, opts: { format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      await withStore(ctx, async (store) => {
        const { instance, stored } = await liveInstance(store, uuid);
        if (format === 'json') {
          writeJson(ctx.io.stdout, {
            instance: instance.uuid,
            vmState: instance.vmState,
            host: instance.host,
            properties: Object.fromEntries(PROPERTY_NAMES.map((n) => [n, storedJson(stored[n])])),
          });
          return;
        }
        ctx.io.stdout.write(`instance ${instance.uuid} (vm_state ${instance.vmState ?? 'NULL'}, host ${instance.host ?? 'NULL'})\n`);
        ctx.io.stdout.write(renderTable(['property', 'stashed value'], PROPERTY_NAMES.map((n) => [n, storedText(stored[n])])));
        for (const n of PROPERTY_NAMES) {
          const e = stored[n].error;
          if (e) ctx.warn(`instance ${instance.uuid}: stored ${n} cannot be loaded by Nova: ${e}`);
        }
      });
    });

  group
    .command('show <uuid> <property>')
    .description('print one stashed value')
    .option('--format <format>', 'table (the bare value, the default) or json')
    .addHelpText('after', `
Exit status: 0 ok, 1 unexpected error, 2 instance not found, 3 not stashed, or stashed as NULL or ''.

Examples:
  hwstash image-property show 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 hw_video_model
  hwstash image-property show 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 hw_vif_model --format json`)
    .action(async (uuid: string, property: string, opts: { format?: string }) => {
      // The bare value by default, terminal or not, as nova-manage prints it for scripts.
      const format = opts.format === undefined ? 'table' : chooseFormat(opts.format, ctx.io.stdout);
      await withStore(ctx, async (store) => {
        const { instance, stored } = await liveInstance(store, uuid);
        if (!isPropertyName(property)) {
          throw new CliError(EXIT.notSetOrBadState, `instance ${instance.uuid}: image property ${JSON.stringify(property)} is not stashed by hwstash; allowed: ${PROPERTY_NAMES.join(', ')}`);
        }
        const p = stored[property as PropertyName];
        // nova-manage prints a value only when it is truthy: NULL and '' are "not found" (3) alike.
        if (!p.present || p.raw === null || p.raw === '') {
          const why = !p.present ? 'not stashed' : p.raw === null ? 'stashed as NULL (the guest has no such device)' : "stashed as '' (a value Nova cannot load)";
          throw new CliError(EXIT.notSetOrBadState, `instance ${instance.uuid}: image property ${property} not found: ${why}`);
        }
        if (p.error) ctx.warn(`instance ${instance.uuid}: stored ${property} cannot be loaded by Nova: ${p.error}`);
        if (format === 'json') writeJson(ctx.io.stdout, { instance: instance.uuid, property, ...storedJson(p) });
        else ctx.io.stdout.write(`${p.value ?? p.raw}\n`);
      });
    });

  group
    .command('set [uuid]')
    .description('set stashed values of one instance (stopped, shelved or shelved_offloaded), or with --all of every matching instance on a host')
    .option('--property <key=value>', 'a property to set (repeatable)', collect, [])
    .option('--all', 'every live instance on the host that matches --where (instead of one uuid)')
    .option('--where <key=value>', 'with --all: only instances whose stashed value is this (repeatable; all must match)', collect, [])
    .option('--host <host>', "with --all: the compute host (default: [DEFAULT] host, else this machine's hostname)")
    .option('--limit <n>', 'with --all: change at most N instances; run again for the rest')
    .option('--dry-run', 'write nothing; show each change (old → new) and the domain XML diff it leads to')
    .option('--force', "override nova-manage's machine-type guards (family change, alias ↔ versioned, downgrade)")
    .option('--skip-host-check', "do not check values against this host's libvirt capabilities (e.g. libvirt is down)")
    .option('--reason <text>', 'recorded in the history')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
Checks, in order, before anything is written: instance exists (2), vm_state is stopped, shelved or
shelved_offloaded (3), every --property is key=value (4), each name is one of the 11 properties
(5), each value is in Nova's enum after coercion, has no '=', suits [libvirt] virt_type, passes
nova-manage's machine-type guards, and this host's QEMU can run it on the instance's machine
type (6). All values are written in one transaction with history; canonical spellings are
stored (VirtualE1000 → e1000).

With --all, each matching instance is checked and changed in its own transaction; instances in
other states are skipped and listed; the summary says what was done. Interrupting it (Ctrl-C)
finishes the instance at hand and stops (exit 130): every instance is either changed or
untouched, and running the same command again finishes the rest. Exit status: 0 when no
matching instance failed (each was changed, already so, or skipped), else the failures' exit code
(1 when they differ); 4, 5 or 6 for a bad --property or --where before any instance is looked at;
130 when interrupted.

Examples:
  hwstash image-property set 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --property hw_disk_bus=virtio
  hwstash image-property set 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --property hw_vif_model=e1000 --property hw_video_model=vga --dry-run
  hwstash image-property set 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --property hw_machine_type=pc-i440fx-7.2 --reason "QEMU 7.2 upgrade"
  hwstash image-property set --all --where hw_video_model=cirrus --property hw_video_model=virtio --dry-run
  hwstash image-property set --all --where hw_video_model=cirrus --host compute-7 --property hw_video_model=virtio --limit 50`)
    .action(async (uuid: string | undefined, opts: SetOptions) => {
      if (opts.all) {
        if (uuid !== undefined) throw new CliError(EXIT.unexpected, `give an instance uuid or --all, not both (got ${uuid} and --all)`);
        await runBulkSet(ctx, opts);
        return;
      }
      const bulkOnly = (['where', 'host', 'limit'] as const).filter((o) => (o === 'where' ? opts.where.length > 0 : opts[o] !== undefined));
      if (bulkOnly.length) throw new CliError(EXIT.unexpected, `--${bulkOnly[0]} needs --all`);
      if (uuid === undefined) throw new CliError(EXIT.unexpected, 'give an instance uuid, or --all with --where for a bulk set');
      await setOne(ctx, uuid, opts);
    });

  group
    .command('history <uuid>')
    .description("an instance's property history: every stash, set and revert, oldest first")
    .option('--property <name>', 'only this property')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
The history of a deleted instance stays readable (Nova's archive and purge do not touch it).

Exit status: 0 ok, 1 unexpected error, 2 instance not found (neither live nor in the history), 5 unknown property name.

Examples:
  hwstash image-property history 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10
  hwstash image-property history 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --property hw_machine_type --format json`)
    .action(async (uuid: string, opts: { property?: string; format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      if (opts.property !== undefined && !isPropertyName(opts.property)) {
        throw new CliError(EXIT.unknownProperty, `--property: invalid image property name ${JSON.stringify(opts.property)}; allowed: ${PROPERTY_NAMES.join(', ')}`);
      }
      await withStore(ctx, async (store) => {
        const filter = opts.property === undefined ? {} : { property: opts.property };
        const live = await store.liveInstance(uuid);
        // hwstash's history outlives the instance: Nova deletes, archives and purges its rows, and
        // the record of what its hardware was stays answerable.
        const history = await store.history(live?.instance.uuid ?? uuid, filter);
        if (!live) {
          if (history.length === 0 && (await store.history(uuid)).length === 0) throw notFound(uuid, store);
          ctx.warn(`instance ${uuid} is deleted (or archived by Nova); showing the history hwstash kept`);
        }
        const instance = live?.instance.uuid ?? uuid;
        if (format === 'json') {
          writeJson(ctx.io.stdout, { instance, deleted: !live, history });
          return;
        }
        if (history.length === 0) ctx.io.stdout.write(`instance ${instance}: no history entries\n`);
        else ctx.io.stdout.write(historyTable(history));
      });
    });

  group
    .command('revert <uuid>')
    .description('undo the latest write of the stash, or with --to every write after a history entry (same state rules and checks as set)')
    .option('--to <entry>', 'go back to the state right after this history entry')
    .option('--dry-run', 'write nothing; show each change (old → new) and the domain XML diff it leads to')
    .option('--force', "override nova-manage's machine-type guards (reverting a machine-type upgrade is a downgrade)")
    .option('--skip-host-check', "do not check values against this host's libvirt capabilities")
    .option('--reason <text>', 'recorded in the history (default: which entries were reverted)')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
Each property the undone entries touched gets back its state from before them: a value, NULL, or
"not stashed" (the row is removed; the agent stashes it again). The revert is itself recorded in
the history, so it can be reverted too.

Exit status: as set; 4 when --to names no history entry of the instance.

Examples:
  hwstash image-property revert 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --dry-run
  hwstash image-property revert 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --to 42 --reason "back to the stash of March"`)
    .action(async (uuid: string, opts: RevertOptions) => {
      await revert(ctx, uuid, opts);
    });
}

