/**
 * `image-property set --all`: the same change on every live instance of a host whose stash
 * matches `--where`. Each instance is checked and written on its own, in its own transaction,
 * so an interruption leaves every instance either changed or untouched, and running the command
 * again finishes the rest. Instances in a state that does not allow it are skipped and listed.
 */
import { NEWEST_RELEASE } from '../core/releases.js';
import { checkRequestedValues, coerceRequestedValues, stateAllowsChange, type CheckedValue } from '../core/property-checks.js';
import type { LiveInstance, PropertyWrite } from '../store/index.js';
import type { CliContext } from './context.js';
import { withStore } from './db.js';
import { CliError, EXIT, requireNonEmpty } from './errors.js';
import { chooseFormat, renderTable, writeJson } from './output.js';
import { changeEnv, parseProperties, type SetOptions } from './property-args.js';
import {
  StashChangedError,
  evaluateChange,
  plannedWrites,
  requireHistoryTable,
  retryOnStashChange,
  writeChange,
  type ChangeEnv,
  type Stored,
  type Wanted,
} from './property-change.js';
import { stateText } from './property-output.js';

const PAGE = 200;

const DELETED = 'deleted while hwstash checked it';

export interface BulkOutcome {
  uuid: string;
  outcome: 'changed' | 'would-change' | 'already' | 'skipped' | 'failed';
  detail: string;
  exitCode?: number;
}

export interface BulkSummary {
  host: string;
  dryRun: boolean;
  /** Live instances of the host looked at. */
  seen: number;
  /** Of those, matching --where. */
  matched: number;
  changed: number;
  already: number;
  skipped: number;
  failed: number;
  /** Stopped early: --limit reached, or interrupted (SIGINT). */
  stoppedBy: 'limit' | 'interrupt' | null;
  instances: BulkOutcome[];
}

function positiveInt(option: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CliError(EXIT.unexpected, `${option} ${JSON.stringify(value)}: expected a whole number of at least 1`);
  return Number(value);
}

/** --where values, canonical; one that no stored value can equal is refused (6). */
function whereValues(items: string[]): CheckedValue[] {
  if (items.length === 0) return [];
  // Only Nova's enum, of its newest release: a stored value of any virt type or release may be selected.
  const { values, problems } = coerceRequestedValues(parseProperties(items, '--where'), NEWEST_RELEASE);
  if (problems.length) throw new CliError(EXIT.invalidValue, `--where: ${problems.map((p) => p.message).join('; ')}; no stored value can match it`);
  return values;
}

function matches(stored: Stored, where: readonly CheckedValue[]): boolean {
  return where.every((w) => stored[w.property].present && stored[w.property].value === w.value);
}

function changesText(writes: readonly PropertyWrite[]): string {
  return writes.filter((w) => w.changed).map((w) => `${w.property}: ${stateText(w.old)} → ${stateText(w.new)}`).join(', ');
}

async function one(env: ChangeEnv, live: LiveInstance, wanted: Wanted[], dryRun: boolean): Promise<BulkOutcome> {
  const { instance, stored } = live;
  const uuid = instance.uuid;
  if (wanted.every((w) => stored[w.property].present && stored[w.property].raw === w.value)) {
    return { uuid, outcome: 'already', detail: 'every value is already so' };
  }
  if (!stateAllowsChange(instance.vmState)) {
    return { uuid, outcome: 'skipped', detail: `vm_state ${instance.vmState ?? 'NULL'} (allowed: stopped, shelved, shelved_offloaded)` };
  }
  if (instance.taskState !== null) return { uuid, outcome: 'skipped', detail: `Nova operation in progress (task_state ${instance.taskState})` };
  try {
    const ev = await evaluateChange(env, live, wanted);
    if (ev.problems.length) return { uuid, outcome: 'failed', detail: ev.problems.join('; '), exitCode: EXIT.invalidValue };
    if (dryRun) return { uuid, outcome: 'would-change', detail: changesText(plannedWrites(ev)) };
    const writes = await writeChange(env, ev, { source: 'set', reason: null });
    return { uuid, outcome: 'changed', detail: changesText(writes) };
  } catch (err) {
    if (!(err instanceof CliError) || err instanceof StashChangedError) throw err;
    // A start or a delete of the instance since it was read is seen under the lock: skipped, not failed.
    if (err.exitCode === EXIT.notSetOrBadState) return { uuid, outcome: 'skipped', detail: err.message };
    if (err.exitCode === EXIT.notFound) return { uuid, outcome: 'skipped', detail: DELETED };
    return { uuid, outcome: 'failed', detail: err.message, exitCode: err.exitCode };
  }
}

/**
 * `one`, read and checked again while another writer (the agent stashing the instance) commits
 * between its checks and its write: the operator's value wins over the stash.
 */
async function oneWinning(env: ChangeEnv, live: LiveInstance, wanted: Wanted[], dryRun: boolean, where: readonly CheckedValue[]): Promise<BulkOutcome> {
  const uuid = live.instance.uuid;
  let current = live;
  try {
    return await retryOnStashChange(async (n) => {
      if (n > 1) {
        const again = await env.store.liveInstance(uuid);
        if (!again) return { uuid, outcome: 'skipped', detail: DELETED };
        if (!matches(again.stored, where)) return { uuid, outcome: 'skipped', detail: 'no longer matches --where (changed by another writer)' };
        current = again;
      }
      return one(env, current, wanted, dryRun);
    });
  } catch (err) {
    if (!(err instanceof StashChangedError)) throw err;
    return { uuid, outcome: 'failed', detail: err.message, exitCode: err.exitCode };
  }
}

export async function runBulkSet(ctx: CliContext, opts: SetOptions): Promise<void> {
  const format = chooseFormat(opts.format, ctx.io.stdout);
  const limit = positiveInt('--limit', opts.limit);
  requireNonEmpty('--host', [opts.host]);
  const requested = parseProperties(opts.property);
  const where = whereValues(opts.where);
  const host = opts.host ?? ctx.settings().host;
  const dryRun = opts.dryRun ?? false;

  const summary = await withStore(ctx, async (store) => {
    const env = changeEnv(ctx, store, opts, 'image-property set --all');
    const { values, problems } = checkRequestedValues(requested, env.profile.virtType, env.profile.release);
    if (problems.length) throw new CliError(EXIT.invalidValue, `${problems.map((p) => p.message).join('; ')}; nothing written`);
    const wanted: Wanted[] = values.map((v) => ({ property: v.property, value: v.value, remove: false }));
    // Refuse up front rather than on every instance when libvirt is down.
    if (!env.skipHostCheck) await env.link.hypervisor();
    if (!dryRun) await requireHistoryTable(store);

    const s: BulkSummary = { host, dryRun, seen: 0, matched: 0, changed: 0, already: 0, skipped: 0, failed: 0, stoppedBy: null, instances: [] };
    let interrupted = false;
    const onSigint = (): void => {
      // A second Ctrl-C stops at once: the transaction in flight is rolled back by the database.
      if (interrupted) process.exit(130);
      interrupted = true;
      ctx.warn('interrupted: finishing the instance at hand, then stopping (Ctrl-C again to stop at once)');
    };
    process.on('SIGINT', onSigint);
    const cliProgress = ctx.io.stderr.isTTY ? (await import('cli-progress')).default : null;
    const bar = cliProgress
      ? new cliProgress.SingleBar(
          { stream: ctx.io.stderr, format: 'set {bar} {value}/{total} instances | {changed} changed, {failed} failed', hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
      : null;
    try {
      const ids = await store.instanceIdsOnHost(host);
      bar?.start(ids.length, 0, { changed: 0, failed: 0 });
      for await (const live of store.eachLiveInstance(ids.map((i) => i.uuid), { host, pageSize: PAGE })) {
        if (interrupted) {
          s.stoppedBy = 'interrupt';
          break;
        }
        s.seen += 1;
        if (matches(live.stored, where)) {
          s.matched += 1;
          const outcome = await oneWinning(env, live, wanted, dryRun, where);
          s.instances.push(outcome);
          if (outcome.outcome === 'changed' || outcome.outcome === 'would-change') s.changed += 1;
          else if (outcome.outcome === 'already') s.already += 1;
          else if (outcome.outcome === 'skipped') s.skipped += 1;
          else s.failed += 1;
        }
        bar?.update(s.seen, { changed: s.changed, failed: s.failed });
        if (limit !== null && s.changed >= limit) {
          s.stoppedBy = 'limit';
          break;
        }
      }
      if (interrupted) s.stoppedBy = 'interrupt';
    } finally {
      bar?.stop();
      process.removeListener('SIGINT', onSigint);
    }
    return s;
  });

  if (format === 'json') writeJson(ctx.io.stdout, summary);
  else ctx.io.stdout.write(renderBulk(summary));
  const codes = [...new Set(summary.instances.filter((i) => i.outcome === 'failed').map((i) => i.exitCode ?? EXIT.unexpected))];
  if (summary.stoppedBy === 'interrupt') ctx.exitCode = 130;
  else if (codes.length === 1) ctx.exitCode = codes[0]!;
  else if (codes.length > 1) ctx.exitCode = EXIT.unexpected;
}

const OUTCOME_TEXT: Record<BulkOutcome['outcome'], string> = {
  changed: 'changed',
  'would-change': 'would change',
  already: 'already so',
  skipped: 'skipped',
  failed: 'failed',
};

export function renderBulk(s: BulkSummary): string {
  const out: string[] = [];
  if (s.instances.length) {
    out.push(renderTable(['instance', 'outcome', 'detail'], s.instances.map((i) => [i.uuid, OUTCOME_TEXT[i.outcome], i.detail])));
  }
  out.push(
    `host ${s.host}${s.dryRun ? ' (dry run: nothing written)' : ''}: ${s.seen} instance(s) seen, ${s.matched} matched; ` +
      `${s.changed} ${s.dryRun ? 'would change' : 'changed'}, ${s.already} already so, ${s.skipped} skipped, ${s.failed} failed\n`,
  );
  if (s.stoppedBy === 'limit') out.push('stopped at --limit: run the same command again for the rest\n');
  if (s.stoppedBy === 'interrupt') out.push('interrupted: every instance listed is complete; run the same command again to finish\n');
  return out.join('');
}
