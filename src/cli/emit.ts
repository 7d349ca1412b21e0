/**
 * `hwstash emit`: publish a Nova-shaped versioned notification (the real envelope and payload),
 * for demos, tests and operators' smoke checks of a deployment.
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import { encodeNotification, instancePayload, servicePayload } from '../bus/envelope.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { chooseFormat, writeJson } from './output.js';

/** vm_state, power_state, task_state and whether d.host is set, as Nova sends each event. */
const INSTANCE_EVENTS: Readonly<Record<string, { state: string; power: string; task: string | null; hostless?: boolean }>> = {
  'instance.create.end': { state: 'active', power: 'running', task: null },
  'instance.power_off.end': { state: 'stopped', power: 'shutdown', task: null },
  'instance.power_on.start': { state: 'stopped', power: 'shutdown', task: 'powering-on' },
  'instance.power_on.end': { state: 'active', power: 'running', task: null },
  'instance.shelve.end': { state: 'shelved', power: 'shutdown', task: 'shelving_offloading' },
  'instance.shelve_offload.end': { state: 'shelved_offloaded', power: 'shutdown', task: null, hostless: true },
  'instance.unshelve.start': { state: 'shelved_offloaded', power: 'shutdown', task: 'unshelving', hostless: true },
  'instance.unshelve.end': { state: 'active', power: 'running', task: null },
  'instance.delete.end': { state: 'deleted', power: 'pending', task: null },
  'instance.rebuild.end': { state: 'active', power: 'running', task: null },
  'instance.live_migration_post_dest.end': { state: 'active', power: 'running', task: null },
  'instance.resize_finish.end': { state: 'resized', power: 'running', task: null },
};
const SERVICE_EVENTS = ['service.create', 'service.update'];

interface EmitOptions {
  instance?: string;
  host?: string;
  state?: string;
  format?: string;
}

export function registerEmit(program: Command, ctx: CliContext): void {
  program
    .command('emit')
    .description(COMMAND_SUMMARIES['emit'])
    .argument('<event_type>', `one of: ${[...Object.keys(INSTANCE_EVENTS), ...SERVICE_EVENTS].join(', ')}`)
    .option('--instance <uuid>', 'the instance (instance events)')
    .option('--host <host>', 'the compute host that sends it (default: this host)')
    .option('--state <vm_state>', "override the payload's vm_state")
    .addHelpText('after', `
Examples:
  hwstash emit instance.create.end --instance 0a538123-7143-4461-b258-dc394b17a536
  hwstash emit instance.power_on.start --instance 0a538123-7143-4461-b258-dc394b17a536 --host compute-0
  hwstash emit service.update

The message goes to the exchange and routing key hwstash binds ([hwstash] exchange, routing_key),
published as nova-compute:<host>, exactly as Nova's messagingv2 notifier would.`)
    .action(async (eventType: string, opts: EmitOptions) => {
      // Checked before anything is sent: a refused --format must not follow a published message.
      const format = chooseFormat(opts.format, ctx.io.stdout);
      const settings = ctx.settings();
      const host = opts.host ?? settings.host;
      let payload: unknown;
      const known = INSTANCE_EVENTS[eventType];
      if (known) {
        if (!opts.instance) throw new CliError(1, `emit ${eventType}: --instance <uuid> is required`);
        try {
          payload = instancePayload({
            uuid: opts.instance,
            host: known.hostless ? null : host,
            state: opts.state ?? known.state,
            powerState: known.power,
            taskState: known.task,
          });
        } catch (err) {
          throw new CliError(1, `emit: ${(err as Error).message}`);
        }
      } else if (SERVICE_EVENTS.includes(eventType)) {
        payload = servicePayload({ host });
      } else {
        throw new CliError(1, `emit: ${JSON.stringify(eventType)} is not an event hwstash can emit; allowed: ${[...Object.keys(INSTANCE_EVENTS), ...SERVICE_EVENTS].join(', ')}`);
      }
      const encoded = encodeNotification({ eventType, publisherId: `nova-compute:${host}`, payload });
      const publisher = await ctx.publisher();
      await publisher.publishRaw(encoded.body);
      if (format === 'json') writeJson(ctx.io.stdout, encoded.message);
      else ctx.io.stdout.write(`published ${eventType} (message_id ${encoded.messageId}) to exchange ${publisher.exchange}, key ${publisher.routingKey}\n`);
    })
    .option('--format <format>', 'table (one line) or json (the published message); default: table on a terminal, json otherwise');
}
