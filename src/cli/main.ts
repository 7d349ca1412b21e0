/**
 * The `hwstash` command: global options, one command group per module, and the single place that
 * turns errors into a message and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.js';
import { CliContext, type CliIO } from './context.js';
import { CliError } from './errors.js';
import { collect } from './output.js';
import { COMMAND_MODULES, COMMAND_SUMMARIES, type CommandGroup } from './commands.js';

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

/** The command group `argv` invokes (its first word that is not an option or `help`), if any. */
function invokedGroup(argv: readonly string[]): CommandGroup | null {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config-file') {
      i += 1;
      continue;
    }
    // `hwstash help image-property` asks for the help of the group that follows.
    if (arg.startsWith('-') || arg === 'help') continue;
    return arg in COMMAND_MODULES ? (arg as CommandGroup) : null;
  }
  return null;
}

/**
 * The `hwstash` program. With `argv`, only the group it invokes is loaded and defined in full;
 * the others are listed by their summaries (all `--help` needs). Without, every group is.
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
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
  const only = argv === undefined ? null : invokedGroup(argv);
  for (const group of Object.keys(COMMAND_MODULES) as CommandGroup[]) {
    if (argv === undefined || group === only) (await COMMAND_MODULES[group]())(program, ctx);
    else program.command(group).description(COMMAND_SUMMARIES[group]);
  }
  return program;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const ctx = new CliContext(io);
  let program: Command;
  try {
    program = await buildProgram(ctx, argv);
  } catch (err) {
    await ctx.close();
    return report(err, ctx);
  }
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
