/**
 * `hwstash demo boot`: on the embedded defaults only, play Nova spawning an instance — write its
 * rows as Nova's API and compute would, then send `instance.create.end` — so the agent's real
 * job can be watched without an OpenStack cloud.
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import { encodeNotification, instancePayload } from '../bus/envelope.js';
import { insertInstances } from '../store/seed.js';
import type { CliContext } from './context.js';
import { withStore } from './db.js';
import { keyValues } from './defaults.js';
import { CliError } from './errors.js';
import { collect } from './output.js';

interface BootOptions {
  name: string;
  property: string[];
}

export function registerDemo(program: Command, ctx: CliContext): void {
  const demo = program.command('demo').description(COMMAND_SUMMARIES['demo']);
  demo
    .command('boot')
    .description("create an instance in the embedded database as Nova would, and send its instance.create.end")
    .option('--name <name>', 'display name', 'demo-vm')
    .option('--property <key=value>', 'an image property (repeatable), e.g. os_distro=win10', collect, [] as string[])
    .addHelpText('after', `
Example (with "hwstash agent" running in another terminal):
  hwstash demo boot --name win-new --property os_distro=win10
  hwstash image-property list <the uuid it prints>`)
    .action(async (opts: BootOptions) => {
      const settings = ctx.settings();
      if (!settings.embedded) {
        throw new CliError(1, 'demo boot writes instances into the database: it only runs on the embedded defaults, never against a Nova database');
      }
      const imageProperties = keyValues(opts.property, '--property');
      const [uuid] = await withStore(ctx, async (store) => {
        await store.initNovaSchema();
        return insertInstances(store, [{ host: settings.host, displayName: opts.name, imageProperties }]);
      });
      let publisher;
      try {
        publisher = await ctx.publisher();
      } catch (err) {
        throw new CliError(1, `instance ${uuid} created, but ${(err as Error).message}`);
      }
      const { body } = encodeNotification({
        eventType: 'instance.create.end',
        publisherId: `nova-compute:${settings.host}`,
        payload: instancePayload({ uuid: uuid!, host: settings.host, state: 'active', powerState: 'running', fields: { display_name: opts.name } }),
      });
      await publisher.publishRaw(body);
      ctx.io.stdout.write(`${uuid}\n`);
      ctx.io.stderr.write(`booted ${opts.name} (${uuid}) on ${settings.host} and sent instance.create.end\n`);
    });
}
