/**
 * `hwstash demo boot` when its database fails under it: one line naming the database and why,
 * exit 1, like every other command; never "unexpected error". The store is a stand-in that fails
 * as the real one reports failures (an outage after opening, a table missing), which a real
 * server cannot be made to do at the right moment.
 */
import { PassThrough } from 'node:stream';
import { CliContext } from '../../src/cli/context.js';
import { CliError } from '../../src/cli/errors.js';
import { buildProgram } from '../../src/cli/main.js';
import { DatabaseUnavailableError, MissingTableError, type Store } from '../../src/store/index.js';
import { Sink } from '../cli/helpers.js';

class FailingStoreContext extends CliContext {
  constructor(private readonly failure: Error) {
    // No config file: the embedded defaults, the only place demo boot runs.
    super({ stdout: new Sink(), stderr: new Sink(), stdin: new PassThrough(), env: { HWSTASH_DEFAULT_CONFIG_FILES: '' } });
  }
  override store(): Promise<Store> {
    const fail = async () => {
      throw this.failure;
    };
    return Promise.resolve({ initNovaSchema: fail, db: { sequelize: { getQueryInterface: () => ({ bulkInsert: fail }) } } } as unknown as Store);
  }
  override publisher(): never {
    throw new Error('demo boot must not publish when the instance was not created');
  }
}

test.each([
  ['an outage after the database was opened', new DatabaseUnavailableError('127.0.0.1:3306', 'connection lost')],
  ['a table missing', new MissingTableError('instances', 'sqlite:///state/hwstash.sqlite')],
])('%s is one line, exit 1', async (_what, failure) => {
  const ctx = new FailingStoreContext(failure);
  const program = await buildProgram(ctx);
  const err = await program.parseAsync(['demo', 'boot'], { from: 'user' }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  expect(err).toMatchObject({ exitCode: 1, message: failure.message });
});
