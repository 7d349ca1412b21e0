/**
 * hwstash's own queues as [oslo_messaging_rabbit] asks: classic, or quorum
 * (rabbit_quorum_queue: replicated over the cluster, with rabbit_quorum_delivery_limit and
 * rabbit_quorum_max_memory_length/_bytes where set).
 *
 * A queue that already exists with other arguments cannot be declared again (406
 * PRECONDITION_FAILED, "inequivalent arg"). The one change an operator makes on purpose, a
 * classic queue becoming a quorum queue when rabbit_quorum_queue is turned on, is done here
 * without losing a message:
 *
 *   1. declare `<queue>.migrating` (quorum) and bind it like the queue: new events reach both;
 *   2. unbind the classic queue: new events reach the migrating queue only;
 *   3. move every message of the classic queue to the migrating one (each acked only after the
 *      broker confirmed its copy), then delete the classic queue, only if empty;
 *   4. declare the queue again as a quorum queue and bind it;
 *   5. unbind the migrating queue, move what it holds into the new queue, delete it if empty.
 *
 * Events that arrived during 1–2 or 4–5 are in both queues: the same message id twice, which
 * the consumer acks without running its handler again. A migration cut short (the agent
 * killed) is finished on the next start: a leftover `<queue>.migrating` is always drained into
 * the queue. A quorum queue where a classic one is asked for, or other quorum limits, keep the
 * existing (durable) queue as it is, reporting what differs and the command that changes it; any
 * other mismatch (a queue that is not durable…) is refused with the same command: setting up
 * fails and is retried, and /healthz says bus false.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { amqpCode, withThrowawayChannel } from './topology.js';

export interface QueueSpec {
  quorum: boolean;
  /** 0 = none. */
  deliveryLimit: number;
  maxMemoryLength: number;
  maxMemoryBytes: number;
}

/** Differences that leave a durable queue safe to use as it is. */
const KEEPABLE_ARGS = new Set(['x-queue-type', 'x-delivery-limit', 'x-max-in-memory-length', 'x-max-in-memory-bytes']);

export const CLASSIC_QUEUE: QueueSpec = { quorum: false, deliveryLimit: 0, maxMemoryLength: 0, maxMemoryBytes: 0 };

export interface Binding {
  exchange: string;
  routingKeys: readonly string[];
}

/** What happened to an existing queue; for the log. */
export interface QueueNotice {
  level: 'info' | 'warn';
  message: string;
}

export function queueArguments(spec: QueueSpec): Record<string, unknown> {
  if (!spec.quorum) return {};
  const args: Record<string, unknown> = { 'x-queue-type': 'quorum' };
  if (spec.deliveryLimit > 0) args['x-delivery-limit'] = spec.deliveryLimit;
  if (spec.maxMemoryLength > 0) args['x-max-in-memory-length'] = spec.maxMemoryLength;
  if (spec.maxMemoryBytes > 0) args['x-max-in-memory-bytes'] = spec.maxMemoryBytes;
  return args;
}

function assertOptions(spec: QueueSpec): Options.AssertQueue {
  return { durable: true, autoDelete: false, exclusive: false, arguments: queueArguments(spec) };
}

/** "inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'quorum' but current is 'classic'" */
export function parseInequivalent(message: string): { arg: string; received: string; current: string } | null {
  const m = /inequivalent arg '([^']+)'.*?received (?:the value )?'?([^' "]*)'?.*?current is (?:the value )?'?([^' "]*)'?/s.exec(message);
  if (!m) return null;
  // A classic queue declared without the argument shows as "none".
  const norm = (v: string) => (m[1] === 'x-queue-type' && (v === 'none' || v === '') ? 'classic' : v);
  return { arg: m[1]!, received: norm(m[2]!), current: norm(m[3]!) };
}


async function tryAssert(model: ChannelModel, queue: string, spec: QueueSpec): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    await withThrowawayChannel(model, (ch) => ch.assertQueue(queue, assertOptions(spec)));
    return { ok: true };
  } catch (err) {
    if (amqpCode(err) !== 406) throw err;
    return { ok: false, message: (err as Error).message };
  }
}

async function exists(model: ChannelModel, queue: string): Promise<boolean> {
  try {
    await withThrowawayChannel(model, (ch) => ch.checkQueue(queue));
    return true;
  } catch (err) {
    if (amqpCode(err) === 404) return false;
    throw err;
  }
}

async function bindAll(model: ChannelModel, queue: string, b: Binding): Promise<void> {
  await withThrowawayChannel(model, async (ch) => {
    for (const key of b.routingKeys) await ch.bindQueue(queue, b.exchange, key);
  });
}

async function unbindAll(model: ChannelModel, queue: string, b: Binding): Promise<void> {
  await withThrowawayChannel(model, async (ch) => {
    for (const key of b.routingKeys) await ch.unbindQueue(queue, b.exchange, key);
  });
}

/**
 * Moves every message of `from` into `to` (default exchange), in batches: a batch is acked on
 * `from` only after the broker confirmed every copy in `to` (a quorum queue confirms after its
 * log is synced to disk, so one message at a time would take a disk flush each). Returns how
 * many moved.
 */
export async function moveMessages(model: ChannelModel, from: string, to: string, batch = 500): Promise<number> {
  const ch: ConfirmChannel = await model.createConfirmChannel();
  ch.on('error', () => undefined);
  let moved = 0;
  try {
    for (;;) {
      let last: Awaited<ReturnType<ConfirmChannel['get']>> = false;
      let n = 0;
      while (n < batch) {
        const msg = await ch.get(from, { noAck: false });
        if (msg === false) break;
        const { headers, ...props } = msg.properties;
        const kept: Options.Publish = { headers: headers ?? {}, persistent: true };
        for (const [k, v] of Object.entries(props)) if (v !== undefined && k !== 'deliveryMode') (kept as Record<string, unknown>)[k] = v;
        ch.sendToQueue(to, msg.content, kept);
        last = msg;
        n += 1;
      }
      if (last === false) break;
      await ch.waitForConfirms();
      ch.ack(last, true);
      moved += n;
    }
  } finally {
    await ch.close().catch(() => undefined);
  }
  return moved;
}

/**
 * Deletes a queue that nothing routes to any more once it is empty. Quorum queues refuse
 * delete-if-empty (540 NOT_IMPLEMENTED, which closes the connection), so for them the count is
 * checked first: with no binding left, only this code's own moves touch it.
 */
async function deleteIfEmpty(model: ChannelModel, queue: string, quorum = false): Promise<boolean> {
  if (quorum) {
    const { messageCount } = await withThrowawayChannel(model, (ch) => ch.checkQueue(queue));
    if (messageCount > 0) return false;
    await withThrowawayChannel(model, (ch) => ch.deleteQueue(queue));
    return true;
  }
  try {
    await withThrowawayChannel(model, (ch) => ch.deleteQueue(queue, { ifEmpty: true }));
    return true;
  } catch (err) {
    if (amqpCode(err) === 406) return false; // not empty: a message arrived meanwhile
    throw err;
  }
}

export function migratingQueueName(queue: string): string {
  return `${queue}.migrating`;
}

function vhostArg(vhost: string): string {
  return vhost === '/' ? "'/'" : `'${vhost.replace(/'/g, "'\\''")}'`;
}

/**
 * Declares `queue` as `spec` asks (binding it when `binding` is given), migrating a classic queue
 * to quorum, and finishing a migration cut short. Notices say what was found and done.
 */
export async function declareOwnQueue(model: ChannelModel, queue: string, spec: QueueSpec, binding: Binding | null, vhost = '/'): Promise<QueueNotice[]> {
  const notices: QueueNotice[] = [];
  const migrating = migratingQueueName(queue);
  const first = await tryAssert(model, queue, spec);
  if (!first.ok) {
    const diff = parseInequivalent(first.message);
    if (spec.quorum && diff?.arg === 'x-queue-type' && diff.current === 'classic') {
      notices.push({ level: 'warn', message: `queue ${queue} is a classic queue and rabbit_quorum_queue = true: migrating it to a quorum queue (through ${migrating}), no message lost` });
      await assertOrThrow(model, migrating, spec);
      if (binding) await bindAll(model, migrating, binding);
      if (binding) await unbindAll(model, queue, binding);
      let moved = 0;
      for (let round = 0; ; round++) {
        moved += await moveMessages(model, queue, migrating);
        if (await deleteIfEmpty(model, queue)) break;
        if (round > 100) throw new Error(`queue ${queue}: still not empty after moving its messages 100 times; is another consumer or publisher using it?`);
      }
      notices.push({ level: 'info', message: `moved ${moved} messages from the classic queue ${queue} to ${migrating}; deleted the classic queue` });
      await assertOrThrow(model, queue, spec);
    } else {
      const what = diff ? `its ${diff.arg} is ${diff.current || 'unset'}, [oslo_messaging_rabbit] asks for ${diff.received || 'unset'}` : first.message;
      const fix =
        `To declare it anew, stop hwstash-agent, make sure the queue is empty (rabbitmqctl list_queues --vhost ${vhostArg(vhost)} name messages), then run: ` +
        `rabbitmqctl delete_queue --vhost ${vhostArg(vhost)} --if-empty ${queue} ; and start hwstash-agent again (events published while it is stopped and the queue is gone are lost: do it while Nova is quiet)`;
      // A durable queue that differs only in its type (quorum where classic is asked) or in a
      // quorum limit keeps every event: use it as it is. Anything else (not durable, exclusive,
      // auto-delete…) could lose events: refuse it, and say how to fix it.
      if (!diff || !KEEPABLE_ARGS.has(diff.arg)) {
        throw new Error(`queue ${queue} exists with other arguments (${what}); hwstash does not consume from it. ${fix}`);
      }
      notices.push({ level: 'warn', message: `queue ${queue} exists with other arguments (${what}); hwstash uses it as it is. ${fix}` });
      await withThrowawayChannel(model, (ch) => ch.checkQueue(queue));
    }
  }
  if (binding) await bindAll(model, queue, binding);
  // A migration under way (this call's, or one cut short by a crash): empty it into the queue.
  if (await exists(model, migrating)) {
    if (binding) await unbindAll(model, migrating, binding).catch(() => undefined);
    let moved = 0;
    for (let round = 0; ; round++) {
      moved += await moveMessages(model, migrating, queue);
      if (await deleteIfEmpty(model, migrating, spec.quorum)) break;
      if (round > 100) throw new Error(`queue ${migrating}: still not empty after moving its messages 100 times`);
    }
    notices.push({ level: 'info', message: `moved ${moved} messages from ${migrating} into ${queue}; ${queue} is a ${spec.quorum ? 'quorum' : 'classic'} queue now` });
  }
  return notices;
}

async function assertOrThrow(model: ChannelModel, queue: string, spec: QueueSpec): Promise<void> {
  await withThrowawayChannel(model, (ch) => ch.assertQueue(queue, assertOptions(spec)));
}
