/**
 * `hwstash db`: hwstash's own tables (`migrate`), Nova's three tables for the embedded SQLite
 * default and demos (`init-nova-schema`), and what is there (`status`).
 */
import type { Command } from 'commander';
import { COMMAND_SUMMARIES } from './commands.js';
import type { Store } from '../store/index.js';
import { DatabaseUnavailableError, InsufficientPrivilegeError, MissingTableError, RelocationConflictError } from '../store/errors.js';
import { parseDatabaseUrl } from '../config/database-url.js';
import { ConfigError } from '../config/errors.js';
import { grantStatements } from '../store/grants.js';
import { DEFAULT_POSTGRES_SCHEMA, ownSchemaName } from '../store/own-schema.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { chooseFormat, renderTable, writeJson } from './output.js';

/**
 * Run a command body with the command's store (opened once by the context, which reports a
 * database it cannot reach as one line, exit 1): a database lost or a table missing on the way
 * is reported the same way.
 */
export async function withStore<T>(ctx: CliContext, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await ctx.store();
  try {
    return await fn(store);
  } catch (err) {
    const operators = [DatabaseUnavailableError, MissingTableError, RelocationConflictError, InsufficientPrivilegeError];
    throw operators.some((E) => err instanceof E) ? new CliError(1, (err as Error).message) : err;
  }
}

const EXIT_HELP = `
Exit status: 0 ok, 1 error (the database cannot be reached, or a table hwstash needs is missing).`;

export function registerDb(program: Command, ctx: CliContext): void {
  const db = program.command('db').description(COMMAND_SUMMARIES['db']).addHelpText('after', EXIT_HELP);

  db.command('migrate')
    .description(
      "create or upgrade hwstash's own tables (hwstash_*) in their own database (MySQL) or schema (PostgreSQL), moving any an earlier version left in Nova's schema; Nova's tables are never touched",
    )
    .addHelpText('after', EXIT_HELP)
    .action(async () => {
      await withStore(ctx, async (store) => {
        const result = await store.migrate();
        const out = ctx.io.stdout;
        if (result.createdSchema) out.write(`created ${result.location} for hwstash's own tables\n`);
        for (const r of result.relocated) {
          out.write(
            r.action === 'moved'
              ? `moved ${r.schema}.${r.table} (${r.rows} rows) out of Nova's schema to ${r.to}.${r.table}\n`
              : `merged ${r.schema}.${r.table} (${r.rows} rows) into ${r.to}.${r.table} and dropped it from Nova's schema\n`,
          );
        }
        out.write(
          result.applied.length
            ? `applied migration(s) ${result.applied.join(', ')}; hwstash schema is at version ${result.version}, its tables in ${result.location}\n`
            : `hwstash schema is up to date (version ${result.version}, its tables in ${result.location})\n`,
        );
      });
    });

  db.command('grants')
    .description("print the SQL that gives hwstash its own least-privilege account on the cell database (for the database administrator)")
    .option('--user <name>', 'the account (MySQL user or PostgreSQL role)', 'hwstash')
    .option('--host <host>', "MySQL: the account's host part", '%')
    .option('--dialect <dialect>', 'mysql or postgresql (default: that of the configured database)')
    .option('--database <name>', 'the cell database (default: that of the configured database)')
    .option('--nova-schema <name>', "PostgreSQL: the schema of Nova's tables", 'public')
    .addHelpText('after', `
It reads only the configuration (no connection). The account may read instances, read and write
instance_system_metadata, and do anything in hwstash's own database (MySQL) or schema
(PostgreSQL); nothing else. Put it in [hwstash] database_connection of /etc/hwstash/hwstash.conf.

Exit status: 0 ok, 1 error (a bad name, or no MySQL/PostgreSQL database to derive it from).

Examples:
  hwstash db grants --user hwstash_compute | mysql nova_cell1
  hwstash db grants --dialect postgresql --database nova_cell1 | psql nova_cell1`)
    .action((opts: { user: string; host: string; dialect?: string; database?: string; novaSchema: string }) => {
      const settings = ctx.settings();
      let configured: ReturnType<typeof parseDatabaseUrl> | null = null;
      try {
        configured = parseDatabaseUrl(settings.databaseConnection);
      } catch {
        configured = null;
      }
      const dialectWord = opts.dialect ?? (configured?.dialect === 'postgres' ? 'postgresql' : configured?.dialect);
      if (dialectWord !== 'mysql' && dialectWord !== 'postgresql') {
        throw new CliError(
          1,
          opts.dialect === undefined
            ? `the configured database (${configured?.redacted ?? 'none'}) is not MySQL or PostgreSQL; give --dialect mysql|postgresql and --database`
            : `--dialect ${JSON.stringify(opts.dialect)}: allowed: mysql, postgresql`,
        );
      }
      const dialect = dialectWord === 'mysql' ? 'mysql' : 'postgres';
      const cellDatabase = opts.database ?? (configured && configured.dialect === dialect ? configured.database : undefined);
      if (!cellDatabase) throw new CliError(1, '--database: the cell database name is needed (the configured database does not give it)');
      try {
        const ownSchema = ownSchemaName(dialect, cellDatabase, settings.ownSchema) ?? DEFAULT_POSTGRES_SCHEMA;
        const lines = grantStatements({ dialect, user: opts.user, host: opts.host, cellDatabase, ownSchema, novaSchema: opts.novaSchema });
        ctx.io.stdout.write(lines.join('\n') + '\n');
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(1, err.message);
        throw err;
      }
    });

  db.command('init-nova-schema')
    .description("create Nova's instances, instance_system_metadata and block_device_mapping tables where missing (embedded SQLite, demos, tests; a real Nova database already has them)")
    .addHelpText('after', EXIT_HELP)
    .action(async () => {
      await withStore(ctx, async (store) => {
        const created = await store.initNovaSchema();
        ctx.io.stdout.write(created.length ? `created Nova table(s): ${created.join(', ')}\n` : "Nova's tables are already present; nothing changed\n");
      });
    });

  db.command('status')
    .description("hwstash's schema version and whether Nova's tables are present")
    .option('--format <format>', 'table or json (default: table on a terminal, json otherwise)')
    .addHelpText('after', EXIT_HELP)
    .action(async (opts: { format?: string }) => {
      const format = chooseFormat(opts.format, ctx.io.stdout);
      await withStore(ctx, async (store) => {
        const status = await store.status();
        if (format === 'json') {
          writeJson(ctx.io.stdout, { database: store.redactedUrl, ...status });
          return;
        }
        const rows: Array<[string, unknown]> = [
          ['database', store.redactedUrl],
          ['hwstash tables in', status.location],
          ['hwstash schema version', status.schemaVersion === null ? 'none (run hwstash db migrate)' : status.schemaVersion],
          ["hwstash tables in Nova's schema", status.misplaced.length ? `${status.misplaced.join(', ')} (run hwstash db migrate)` : 'none'],
          ['latest version', status.latestVersion],
          ['pending migrations', status.pending.length ? status.pending.join(', ') : 'none'],
          ...Object.entries(status.novaTables).map(([t, present]): [string, unknown] => [`Nova table ${t}`, present ? 'present' : 'missing']),
        ];
        ctx.io.stdout.write(renderTable(['item', 'value'], rows));
      });
    });
}
