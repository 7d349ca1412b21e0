/**
 * `hwstash reconcile`: the one-shot form of what the agent does at start — stash what is missing
 * for every live instance on the host — with a summary, a progress bar on a terminal, and a dry
 * run that writes nothing and lists what it would write.
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import { reconcileHost, type ReconcileOptions, type ReconcileSummary } from '../agent/reconcile.js';
import { checkUuid } from '../hypervisor/arguments.js';
import { isHypervisorError } from '../hypervisor/errors.js';
import type { CliContext } from './context.js';
import { CliError, requireNonEmpty } from './errors.js';
import { chooseFormat, renderTable, writeJson } from './output.js';
import { withStore } from './db.js';
import { actor } from './property-change.js';
import { ADOPT_REASONS, RESTORE_REASONS } from '../store/repair-plan.js';

/**
 * Reads RequestSpecs when Nova's API database is configured: they tell an operator's
 * nova-manage `image_property set` (kept) from a stale save of Nova's (restored).
 */
export async function requestSpecReader(ctx: CliContext): Promise<ReconcileOptions['requestSpecOf']> {
  const api = await ctx.apiDatabase();
  if (!api) return undefined;
  const { requestSpecImageProperties } = await import('../store/request-spec.js');
  return (uuid) => requestSpecImageProperties(api, uuid);
}

interface ReconcileCliOptions {
  host?: string;
  instance?: string;
  dryRun?: boolean;
  format?: string;
}

/**
 * The --instance uuid in the canonical 8-4-4-4-12 form Nova stores, lower-cased; another
 * spelling (without hyphens, say) could never match a row and would only answer "not found".
 */
function instanceUuid(value: string): string {
  try {
    return checkUuid('reconcile', value);
  } catch (err) {
    if (!isHypervisorError(err, 'invalid')) throw err;
    throw new CliError(1, `--instance: ${JSON.stringify(value)} is not an instance uuid (expected the 8-4-4-4-12 hexadecimal form)`);
  }
}

export function registerReconcile(program: Command, ctx: CliContext, domainFacts: ReconcileOptions['domainFacts']): void {
  program
    .command('reconcile')
    .description(COMMAND_SUMMARIES['reconcile'])
    .option('--host <host>', "the compute host (default: [DEFAULT] host, else this machine's hostname)")
    .option('--instance <uuid>', 'only this instance')
    .option('--dry-run', 'write nothing; show what would be written')
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', `
Exit status: 0 when nothing is left to report; 1 when a property could not be stashed, a stored
value cannot be read by Nova, or the database cannot be reached; 2 when --instance names no live
instance of the host.

Examples:
  hwstash reconcile --dry-run
  hwstash reconcile --host compute-7 --format json
  hwstash reconcile --instance 0b6a1c7e-8d51-4a4e-9f27-1c5e0f6c2d10`)
    .action(async (opts: ReconcileCliOptions) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      const instance = opts.instance === undefined ? undefined : instanceUuid(opts.instance);
      requireNonEmpty('--host', [opts.host]);
      const settings = ctx.settings();
      const host = opts.host ?? settings.host;
      const osinfo = await ctx.osinfo();
      const summary = await withStore(ctx, async (store) => {
        // After the store: with nova_release = auto, the release comes from Nova's services table.
        const profile = ctx.profile();
        const cliProgress = ctx.io.stderr.isTTY ? (await import('cli-progress')).default : null;
        const bar = cliProgress
          ? new cliProgress.SingleBar(
              { stream: ctx.io.stderr, format: `reconcile {bar} {value}/{total} instances | {stashed} properties ${opts.dryRun ? 'would be stashed' : 'stashed'}`, hideCursor: true },
              cliProgress.Presets.shades_classic,
            )
          : null;
        try {
          return await reconcileHost({
            store,
            host,
            profile,
            osinfo,
            domainFacts,
            batchSize: settings.hwstash.batchSize,
            dryRun: opts.dryRun ?? false,
            instanceUuid: instance,
            actor: actor(ctx, 'reconcile'),
            requestSpecOf: await requestSpecReader(ctx),
            onProgress: (p) => {
              if (!bar) return;
              if (p.done === 0) bar.start(p.total, 0, { stashed: 0 });
              else {
                bar.setTotal(p.total);
                bar.update(p.done, { stashed: p.propertiesStashed });
              }
            },
          });
        } finally {
          bar?.stop();
        }
      });
      if (opts.instance !== undefined && summary.instancesSeen === 0) {
        throw new CliError(2, `instance ${opts.instance} not found on host ${host}`);
      }
      if (format === 'json') writeJson(ctx.io.stdout, summary);
      else ctx.io.stdout.write(renderSummary(summary));
      if (summary.errors.length > 0 || summary.badStoredValues.length > 0) ctx.exitCode = 1;
    });
}

export function renderSummary(s: ReconcileSummary): string {
  const out: string[] = [];
  const verb = s.dryRun ? 'would stash' : 'stashed';
  out.push(
    `host ${s.host}${s.dryRun ? ' (dry run: nothing written)' : ''}: ${s.instancesSeen} instance(s) seen, ` +
      `${s.instancesStashed} ${verb}, ${s.instancesComplete} already complete, ${s.instancesIncomplete} incomplete, ${s.instancesSkipped} skipped; ` +
      `${s.propertiesStashed} propert${s.propertiesStashed === 1 ? 'y' : 'ies'} ${verb} in ${(s.durationMs / 1000).toFixed(1)} s\n`,
  );
  const sources = Object.entries(s.stashedBySource);
  if (sources.length) out.push(renderTable(['source', `properties ${verb}`], sources));
  const errorRows = Object.entries(s.errorsByProperty).flatMap(([property, codes]) => Object.entries(codes).map(([code, n]) => [property, code, n]));
  if (errorRows.length) {
    out.push('not stashed:\n', renderTable(['property', 'error', 'instances'], errorRows));
    out.push(renderTable(['instance', 'property', 'reason'], s.errors.map((e) => [e.instanceUuid, e.property, e.message])));
  }
  if (s.badStoredValues.length) {
    out.push('stored values Nova cannot load:\n', renderTable(['instance', 'key', 'value', 'problem'], s.badStoredValues.map((b) => [b.instanceUuid, b.key, b.value, b.message])));
  }
  const repairRows = s.repairs.flatMap((r) => [
    ...r.restored.map((x) => [r.instanceUuid, x.property, x.found.present ? (x.found.value ?? 'NULL') : '(no row)', x.value ?? 'NULL', `restored: ${RESTORE_REASONS[x.cause]}`]),
    ...r.adopted.map((x) => [r.instanceUuid, x.property, x.recorded.value ?? 'NULL', x.found.value ?? 'NULL', `kept: ${ADOPT_REASONS[x.cause]}`]),
  ]);
  if (repairRows.length) {
    out.push(
      `${s.propertiesRestored} propert${s.propertiesRestored === 1 ? 'y' : 'ies'} ${s.dryRun ? 'would be ' : ''}restored, ${s.propertiesAdopted} change(s) of Nova's ${s.dryRun ? 'would be ' : ''}recorded:\n`,
      renderTable(['instance', 'property', 'found', 'now', 'why'], repairRows),
    );
  }
  if (s.dryRun && s.rows?.length) {
    out.push('rows that would be written:\n', renderTable(['instance', 'key', 'value', 'source'], s.rows.map((r) => [r.instanceUuid, r.key, r.value ?? 'NULL', r.source])));
  }
  return out.join('');
}
