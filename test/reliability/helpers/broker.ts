/**
 * Restarting the shared RabbitMQ (`rabbitmqctl stop_app` … `start_app`): the broker is started
 * again whatever happens, and the promise resolves once it accepts connections.
 */
import { rabbitmqctl } from '../../bus/helpers/rabbit.js';
import { sleep } from '../../agent/helpers/harness.js';

export interface BrokerRestart {
  /** Resolves when the broker is back (start_app and await_startup done). */
  done: Promise<void>;
  /** When stop_app returned and when the broker was back, in ms since the epoch. */
  stoppedAt: number | null;
  backAt: number | null;
}

export function restartBroker(downMs: number): BrokerRestart {
  const r: BrokerRestart = { done: Promise.resolve(), stoppedAt: null, backAt: null };
  r.done = (async () => {
    try {
      await rabbitmqctl('stop_app');
      r.stoppedAt = Date.now();
      await sleep(downMs);
    } finally {
      await rabbitmqctl('start_app');
      await rabbitmqctl('await_startup');
      r.backAt = Date.now();
    }
  })();
  return r;
}
