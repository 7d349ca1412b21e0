/**
 * `hwstash agent`: the daemon. Signals: the first SIGTERM/SIGINT drains in-flight work within
 * [hwstash] shutdown_timeout and exits 0; a second one, or a drain that overruns, exits at once.
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import type { Systemd } from '../agent/systemd.js';
import type { OsInfoLookup } from '../core/inputs.js';
import type { CliContext } from './context.js';

interface AgentCommandOptions {
  metricsAddress?: string;
  demo?: boolean;
}

export function registerAgent(program: Command, ctx: CliContext): void {
  program
    .command('agent')
    .description(COMMAND_SUMMARIES['agent'])
    .option('--metrics-address <host:port>', 'listen here for /healthz and /metrics (default: [hwstash] metrics_address)')
    .option('--no-demo', 'on the embedded defaults, do not seed the demo instances')
    .addHelpText('after', `
Examples:
  hwstash agent                                  # embedded defaults: SQLite in ./state, libvirt test driver, demo instances
  hwstash --config-file /etc/nova/nova.conf --config-file /etc/hwstash/hwstash.conf agent

Logs are JSON lines (pino) on stdout; every line about an instance carries instance_uuid.
Under systemd (Type=notify) it reports readiness, watchdog pings and stopping.`)
    .action(async (opts: AgentCommandOptions) => {
      // The agent's modules (bus, libvirt, metrics, logger) load here, not for every command.
      const [{ pino }, { Agent }, { seedDemo }, { Systemd }, { loadIndexCached, OsInfoUnavailableError }] = await Promise.all([
        import('pino'),
        import('../agent/agent.js'),
        import('../agent/demo.js'),
        import('../agent/systemd.js'),
        import('../osinfo/index.js'),
      ]);
      const settings = ctx.settings();
      const logger = pino({ level: settings.hwstash.logLevel, base: { service: 'hwstash-agent' } });
      for (const warning of ctx.settingsWarnings) logger.warn(warning);
      // First, before anything is opened: under systemd (NOTIFY_SOCKET) an agent whose notify
      // addon does not load could never report READY=1; it stops now, saying how to fix it.
      let systemd: Systemd;
      try {
        systemd = new Systemd();
      } catch (err) {
        logger.fatal({ reason: (err as Error).message }, 'agent failed to start');
        ctx.exitCode = 1;
        return;
      }
      // Loaded here rather than through ctx.osinfo(), whose warning is plain text on stderr: the
      // agent's output is JSON lines only.
      let osinfo: OsInfoLookup | null = null;
      try {
        const cached = await loadIndexCached(settings.hwstash.osinfoDir, [settings.hwstash.stateDir]);
        logger.info({ osinfo_dir: settings.hwstash.osinfoDir, cache: cached.outcome, file: cached.file, note: cached.note }, 'osinfo index loaded');
        osinfo = cached.index;
      } catch (err) {
        if (!(err instanceof OsInfoUnavailableError)) throw err;
        logger.warn({ osinfo_dir: settings.hwstash.osinfoDir }, 'osinfo-db not installed: driver defaults apply where libosinfo would decide');
      }
      const demo = settings.embedded && opts.demo !== false;
      const agent = new Agent({
        settings,
        profile: ctx.profile(),
        osinfo,
        logger,
        systemd,
        ...(opts.metricsAddress !== undefined ? { metricsAddress: opts.metricsAddress } : {}),
        ...(demo ? { prepare: (store, hypervisor) => seedDemo(store, settings.host, hypervisor, logger) } : {}),
      });

      let stopping: Promise<{ drained: boolean }> | null = null;
      const stopped = new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) {
            logger.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          logger.info({ signal }, 'signal received');
          const hardStop = setTimeout(() => {
            logger.error('shutdown overran its timeout: exiting now');
            process.exit(1);
          }, (settings.hwstash.shutdownTimeout + 10) * 1000);
          hardStop.unref();
          stopping = agent.stop(`${signal} received`);
          void stopping.then(() => resolve());
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      try {
        await agent.start();
      } catch (err) {
        if (stopping) {
          // Asked to stop while still starting (e.g. waiting for its database): a clean stop.
          await stopping;
          return;
        }
        logger.fatal({ reason: (err as Error).message }, 'agent failed to start');
        await agent.stop('start failed').catch(() => undefined);
        ctx.exitCode = 1;
        return;
      }
      await stopped;
      // A statement that outlived the drain keeps its socket, and so the process, alive; the
      // database rolls its transaction back once the process is gone. Exit regardless.
      setTimeout(() => process.exit(ctx.exitCode), 1000).unref();
    });
}
