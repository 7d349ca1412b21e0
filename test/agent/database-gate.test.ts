/**
 * The database gate on its own, with a ping the test controls: how it waits out an outage.
 */
import { getEventListeners } from 'node:events';
import { pino } from 'pino';
import { isAbandon } from '../../src/bus/errors.js';
import { DatabaseGate } from '../../src/agent/database-gate.js';
import { DatabaseUnavailableError } from '../../src/store/index.js';

const quiet = pino({ level: 'silent' });
const outage = () => new DatabaseUnavailableError('127.0.0.1:3306', 'connect ECONNREFUSED');

test('waiting out a long outage leaves no abort listener behind on the signal it was given', async () => {
  // The agent passes its lifetime signal: a listener per wait would pile up over an outage
  // (MaxListenersExceededWarning after ten) and stay for the life of the process.
  let pings = 0;
  const gate = new DatabaseGate({
    ping: async () => {
      pings += 1;
      if (pings <= 25) throw outage();
    },
    logger: quiet,
    minDelayMs: 1,
    maxDelayMs: 1,
  });
  const lifetime = new AbortController();
  await gate.waitUntilUp(lifetime.signal);
  expect(pings).toBe(26);
  expect(gate.up).toBe(true);
  expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
});

test('run() retries through an outage and gives up with an abandon when the signal aborts', async () => {
  const gate = new DatabaseGate({ ping: async () => { throw outage(); }, logger: quiet, minDelayMs: 5, maxDelayMs: 5 });
  const ctl = new AbortController();
  const running = gate.run(async () => { throw outage(); }, ctl.signal).catch((err: unknown) => err);
  setTimeout(() => ctl.abort(), 50);
  const err = await running;
  expect(isAbandon(err)).toBe(true);
  expect(gate.up).toBe(false);
});

test('probe() records the answer, and a ping that hangs counts as down', async () => {
  const changes: boolean[] = [];
  let answer: 'up' | 'down' | 'hang' = 'down';
  const gate = new DatabaseGate({
    ping: () => (answer === 'up' ? Promise.resolve() : answer === 'down' ? Promise.reject(outage()) : new Promise<void>(() => undefined)),
    logger: quiet,
    onChange: (up) => changes.push(up),
  });
  await gate.probe(100);
  expect(gate.up).toBe(false);
  answer = 'up';
  await gate.probe(100);
  expect(gate.up).toBe(true);
  answer = 'hang';
  await gate.probe(50);
  expect(gate.up).toBe(false);
  expect(changes).toEqual([false, true, false]);
});
