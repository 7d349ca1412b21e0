/**
 * `hwstash domain diff|sync <uuid>`: compare an instance's libvirt domain definition with its
 * stash as an XML diff, and make the definition follow the stash now rather than at the next
 * power-on — what the agent does, on an operator's request.
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import type { DomainPlan } from '../agent/domain-sync.js';
import type { Change } from '../core/domain-xml/index.js';
import type { Hypervisor } from '../hypervisor/index.js';
import type { Store } from '../store/index.js';
import type { CliContext } from './context.js';
import { withStore } from './db.js';
import { CliError, EXIT } from './errors.js';
import { LibvirtLink, domainSyncFor } from './libvirt-link.js';
import { chooseFormat, renderTable, writeJson } from './output.js';
import { liveInstance, requireAllowedState } from './property-change.js';

function changesTable(changes: readonly Change[]): string {
  return renderTable(['property', 'element', 'aspect', 'from', 'to'], changes.map((c) => [c.property, c.element, c.aspect, c.from ?? '(none)', c.to ?? '(removed)']));
}

async function libvirt(ctx: CliContext, what: string): Promise<Hypervisor> {
  const hv = await new LibvirtLink(ctx, { required: true, consequence: what }).hypervisor();
  // A required link either answers or throws.
  return hv!;
}

function noDomain(ctx: CliContext, uuid: string): CliError {
  return new CliError(EXIT.notFound, `instance ${uuid} has no libvirt domain at ${ctx.settings().libvirt.connectionUri}: nothing to compare (the agent builds one at unshelve)`);
}

async function planFor(ctx: CliContext, store: Store, uuid: string): Promise<DomainPlan> {
  const live = await liveInstance(store, uuid);
  const hv = await libvirt(ctx, 'the domain cannot be read');
  const plan = await (await domainSyncFor(ctx, store, hv)).plan(live.instance.uuid, { live });
  if (!plan || plan.currentXml === null) throw noDomain(ctx, live.instance.uuid);
  return plan;
}

export function registerDomain(program: Command, ctx: CliContext): void {
  const domain = program
    .command('domain')
    .description(COMMAND_SUMMARIES['domain'])
    .addHelpText('after', `
Examples:
  hwstash domain diff 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10
  hwstash domain sync 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --dry-run
  hwstash domain sync 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10`);

  domain
    .command('diff <uuid>')
    .description('the persistent domain definition against what following the stash makes of it, as a unified XML diff')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
Exit status: 0 the definition follows the stash, 1 error (e.g. libvirt unreachable), 2 instance not
found or no domain, 3 the definition differs.

Examples:
  hwstash domain diff 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10
  hwstash domain diff 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --format json`)
    .action(async (uuid: string, opts: { format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      await withStore(ctx, async (store) => {
        const plan = await planFor(ctx, store, uuid);
        const current = plan.currentXml!;
        const inSync = plan.changes.length === 0;
        const { unifiedDiff } = await import('../agent/domain-sync.js');
        const diff = inSync ? '' : unifiedDiff(plan.uuid, current, plan.targetXml);
        if (format === 'json') {
          writeJson(ctx.io.stdout, {
            instance: plan.uuid,
            inSync,
            changes: plan.changes,
            diff,
            unsupported: plan.unsupported.map((p) => p.message),
            notChecked: plan.notChecked,
          });
        } else if (inSync) {
          ctx.io.stdout.write(`instance ${plan.uuid}: the libvirt domain definition follows the stash\n`);
        } else {
          ctx.io.stdout.write(`instance ${plan.uuid}: the libvirt domain definition differs from the stash\n`);
          ctx.io.stdout.write(changesTable(plan.changes));
          ctx.io.stdout.write(diff);
          for (const p of plan.unsupported) ctx.warn(`instance ${plan.uuid}: following the stash would not run here: ${p.message}`);
        }
        ctx.exitCode = inSync ? EXIT.ok : 3;
      });
    });

  domain
    .command('sync <uuid>')
    .description('redefine the domain so that it follows the stash (instance stopped, shelved or shelved_offloaded)')
    .option('--dry-run', 'define nothing; show the diff')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
The new definition is checked against this host's domain capabilities first; one this QEMU cannot
run is refused and the old definition stays. A running guest is not touched (the definition
applies at its next start), but, as for image-property set, the instance must be in vm_state
stopped, shelved or shelved_offloaded.

Exit status: 0 ok, 1 error, 2 instance not found or no domain, 3 instance state does not allow
it, 6 this host cannot run the definition that follows the stash.

Examples:
  hwstash domain sync 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --dry-run
  hwstash domain sync 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10 --format json`)
    .action(async (uuid: string, opts: { dryRun?: boolean; format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      const dryRun = opts.dryRun ?? false;
      await withStore(ctx, async (store) => {
        const live = await liveInstance(store, uuid);
        const { instance } = live;
        if (!dryRun) requireAllowedState(instance, 'domain sync');
        const hv = await libvirt(ctx, dryRun ? 'the domain cannot be read' : 'nothing defined');
        const { UnsupportedDomainError } = await import('../agent/domain-sync.js');
        let result;
        try {
          result = await (await domainSyncFor(ctx, store, hv)).follow(instance.uuid, { dryRun, live });
        } catch (err) {
          if (err instanceof UnsupportedDomainError) {
            throw new CliError(EXIT.invalidValue, `instance ${instance.uuid}: the definition that follows the stash cannot run on this host, nothing defined: ${err.problems.map((p) => p.message).join('; ')}`);
          }
          throw err;
        }
        if (result.outcome === 'no-domain') throw noDomain(ctx, instance.uuid);
        if (format === 'json') {
          writeJson(ctx.io.stdout, { instance: instance.uuid, dryRun, ...result, unsupported: result.unsupported.map((p) => p.message) });
        } else {
          const said: Record<Exclude<typeof result.outcome, 'no-domain'>, string> = {
            unchanged: 'the libvirt domain definition already follows the stash; nothing defined',
            redefined: dryRun ? 'dry run: the definition would be redefined to follow the stash' : 'the definition was redefined to follow the stash',
            built: dryRun ? 'dry run: a definition would be built' : 'a definition was built',
            refused: 'the definition that follows the stash cannot run on this host; nothing would be defined',
          };
          ctx.io.stdout.write(`instance ${instance.uuid}: ${said[result.outcome]}\n`);
          if (result.changes.length) ctx.io.stdout.write(changesTable(result.changes));
          if (result.diff) ctx.io.stdout.write(result.diff);
          for (const p of result.unsupported) ctx.warn(`instance ${instance.uuid}: ${p.message}`);
        }
        for (const n of result.notChecked) ctx.warn(`instance ${instance.uuid}: not checked: ${n}`);
        if (result.outcome === 'refused') ctx.exitCode = EXIT.invalidValue;
      });
    });
}
