/**
 * The `hwstash` command: global options, one command group per module, and the single place that
 * turns errors into a message and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.js';
import { CliContext, type CliIO } from './context.js';
import { CliError } from './errors.js';
import { collect } from './output.js';
import { registerAgent } from './agent.js';
import { registerDefaults } from './defaults.js';
import { registerImageProperty } from './image-property.js';
import { registerDrift } from './drift.js';
import { registerDomain } from './domain.js';
import { registerDemo } from './demo.js';
import { registerEmit } from './emit.js';
import { registerDb } from './db.js';
import { registerReconcile } from './reconcile.js';
import { domainFactsFor } from './libvirt-link.js';

/**
 * A reader that closes early (`hwstash image-property history … | head`) ends the command
 * quietly, as Unix tools do, instead of an unhandled EPIPE and its stack trace. Anything the
 * command had committed stays committed; only the rest of its output is dropped.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

export function processIO(): CliIO {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('hwstash')
    .description("Keeps OpenStack guests' virtual hardware stable: stashes each instance's device buses and models in Nova's database and makes libvirt follow them.")
    .option('--config-file <file>', 'configuration file (repeatable; later files override earlier ones). Default: /etc/nova/nova.conf then /etc/hwstash/hwstash.conf, else the embedded defaults', collect, [] as string[])
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .hook('preAction', (thisCommand) => {
      ctx.configFiles = thisCommand.opts<{ configFile: string[] }>().configFile;
    });
  registerAgent(program, ctx);
  registerDefaults(program, ctx);
  registerReconcile(program, ctx, domainFactsFor(ctx));
  registerDb(program, ctx);
  registerImageProperty(program, ctx);
  registerDrift(program, ctx);
  registerDomain(program, ctx);
  registerEmit(program, ctx);
  registerDemo(program, ctx);
  return program;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const ctx = new CliContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return report(err, ctx);
  } finally {
    await ctx.close();
  }
}

function report(err: unknown, ctx: CliContext): number {
  if (err instanceof CommanderError) {
    // Help and version are "errors" to commander carrying exit code 0; usage mistakes (and a
    // missing subcommand, for which commander shows the help) carry 1 and are already printed.
    return err.exitCode;
  }
  if (err instanceof CliError) {
    ctx.io.stderr.write(`hwstash: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    ctx.io.stderr.write(`hwstash: configuration: ${err.message}\n`);
    return 1;
  }
  ctx.io.stderr.write(`hwstash: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
  if (ctx.io.env['HWSTASH_DEBUG']) ctx.io.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return 1;
}
