/**
 * hwstash's command groups: each one's summary (what `hwstash --help` lists) and the module that
 * defines it, loaded only when that group runs — `hwstash image-property list` loads the
 * image-property group alone, and `hwstash --help` none of them.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

export const COMMAND_SUMMARIES = {
  'agent': "run the agent: reconcile this host, then stash and follow on Nova's notifications",
  'defaults': 'show the 11 properties an instance from an image would get on this host, with their sources',
  'reconcile': 'stash the missing properties of every live instance on a host (what the agent does at start)',
  'db': "hwstash's own tables in the database, and Nova's for standalone use",
  'image-property': "an instance's stashed device properties: list, show, set (one instance or in bulk), history, revert",
  'drift': "instances whose stash this host cannot run, whose libvirt domain differs from the stash, or that have properties not stashed",
  'domain': "an instance's libvirt domain against its stash: diff, and sync (make the definition follow the stash now)",
  'emit': "publish a Nova-shaped versioned notification on Nova's exchange (demos, tests, smoke checks)",
  'fleet': "every compute host's hardware profile and heartbeat (hosts), and recording this host's (record)",
  'move-check': "whether an instance's stash can run on other hosts, and for each that cannot, which property and why",
  'what-if': 'which instances a planned libvirt/QEMU could not start, grouped by cause, with the bulk set that moves them first',
  'demo': 'demonstrations on the embedded defaults (refused against a real Nova database)',
} as const;

export type CommandGroup = keyof typeof COMMAND_SUMMARIES;

type Register = (program: Command, ctx: CliContext) => void;

/** The group's module, registering its commands on `program`. */
export const COMMAND_MODULES: Record<CommandGroup, () => Promise<Register>> = {
  agent: async () => (await import('./agent.js')).registerAgent,
  defaults: async () => (await import('./defaults.js')).registerDefaults,
  reconcile: async () => {
    const [{ registerReconcile }, { domainFactsFor }] = await Promise.all([import('./reconcile.js'), import('./libvirt-link.js')]);
    return (program, ctx) => registerReconcile(program, ctx, domainFactsFor(ctx));
  },
  db: async () => (await import('./db.js')).registerDb,
  'image-property': async () => (await import('./image-property.js')).registerImageProperty,
  drift: async () => (await import('./drift.js')).registerDrift,
  domain: async () => (await import('./domain.js')).registerDomain,
  emit: async () => (await import('./emit.js')).registerEmit,
  fleet: async () => (await import('./fleet.js')).registerFleet,
  'move-check': async () => (await import('./fleet.js')).registerMoveCheck,
  'what-if': async () => (await import('./fleet.js')).registerWhatIf,
  demo: async () => (await import('./demo.js')).registerDemo,
};
