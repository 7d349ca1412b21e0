/**
 * A lost connection, for real: the tests run their own libvirtd (see private-libvirtd.ts),
 * SIGKILL it and start it again. A restarted daemon has fresh test-driver state, which tells
 * the old connection from the new one.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Hypervisor, HypervisorError, execFileVirsh, type VirshRunner } from '../../src/hypervisor/index.js';
import { PrivateLibvirtd } from './private-libvirtd.js';

const SLOW = 60_000;

function capturingLogger(): { logger: pino.Logger; lines: Array<{ msg: string; [k: string]: unknown }> } {
  const lines: Array<{ msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

async function rejection(p: Promise<unknown>): Promise<HypervisorError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HypervisorError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

function marker(uuid: string): string {
  return `<domain type='test'><name>hwstash-marker</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory>
    <os><type>hvm</type></os></domain>`;
}

let daemon: PrivateLibvirtd;
beforeEach(async () => {
  daemon = new PrivateLibvirtd();
  await daemon.start();
});
afterEach(async () => {
  await daemon.dispose();
});

test(
  'a read after the daemon restarted re-opens once and succeeds',
  async () => {
    const { logger, lines } = capturingLogger();
    const hv = await Hypervisor.open(daemon.uri, { logger });
    try {
      const uuid = randomUUID();
      await hv.define(marker(uuid));
      expect(await hv.domain(uuid)).not.toBeNull();

      await daemon.kill();
      await daemon.start();

      // Several reads fail on the dead connection at once; one re-open serves them all.
      const [list, again, missing] = await Promise.all([hv.listDomains(), hv.listDomains(), hv.domain(uuid)]);
      expect(list.map((d) => d.name)).toEqual(['test']);
      expect(again).toEqual(list);
      expect(missing).toBeNull(); // the new daemon never saw the marker
      expect(lines.filter((l) => l.msg.includes('re-opening'))).toHaveLength(1);
      expect(lines.filter((l) => l.msg.includes('re-opened'))).toHaveLength(1);
    } finally {
      await hv.close();
    }
  },
  SLOW,
);

test(
  'define and start report a lost connection, after re-opening for the next call',
  async () => {
    const hv = await Hypervisor.open(daemon.uri);
    try {
      const uuid = randomUUID();
      await daemon.kill();
      await daemon.start();

      const e = await rejection(hv.define(marker(uuid)));
      expect(e).toMatchObject({ kind: 'connection', op: 'define' });
      // Not retried: the definition did not reach the new daemon.
      expect(await hv.domain(uuid)).toBeNull();
      await hv.define(marker(uuid));
      expect(await hv.domain(uuid)).toMatchObject({ name: 'hwstash-marker', state: 'shutoff' });

      await daemon.kill();
      await daemon.start();
      expect((await rejection(hv.start(uuid))).kind).toBe('connection');
      // The new daemon's own domain is there; the marker went with the old daemon.
      expect((await hv.listDomains()).map((d) => d.name)).toEqual(['test']);
    } finally {
      await hv.close();
    }
  },
  SLOW,
);

test(
  'while the daemon is down calls fail with kind connection; once it is back they work again',
  async () => {
    const hv = await Hypervisor.open(daemon.uri);
    try {
      await daemon.kill();
      const down = await rejection(hv.listDomains());
      expect(down.kind).toBe('connection');
      expect(down.libvirtMessage).not.toBe('');
      expect((await rejection(hv.domain(randomUUID()))).kind).toBe('connection');

      await daemon.start();
      expect((await hv.listDomains()).map((d) => d.name)).toEqual(['test']);
    } finally {
      await hv.close();
    }
  },
  SLOW,
);

test(
  'opening while the daemon is down is a connection error naming the socket',
  async () => {
    await daemon.kill();
    const e = await rejection(Hypervisor.open(daemon.uri));
    expect(e.kind).toBe('connection');
    expect(e.libvirtMessage).toContain(daemon.socket);
  },
  SLOW,
);

test(
  'cached capabilities are forgotten when the connection is re-opened',
  async () => {
    const real = execFileVirsh();
    let spawns = 0;
    const counting: VirshRunner = (args) => {
      spawns++;
      return real(args);
    };
    const hv = await Hypervisor.open(daemon.uri, { virsh: counting });
    try {
      await hv.capabilities();
      await hv.capabilities();
      expect(spawns).toBe(1);

      await daemon.kill();
      await daemon.start();
      await hv.listDomains(); // finds the connection lost and re-opens it
      await hv.capabilities();
      expect(spawns).toBe(2);
    } finally {
      await hv.close();
    }
  },
  SLOW,
);

test(
  'virsh that cannot reach the daemon: connection, tried twice, not cached',
  async () => {
    const real = execFileVirsh();
    let spawns = 0;
    const counting: VirshRunner = (args) => {
      spawns++;
      return real(args);
    };
    const hv = await Hypervisor.open(daemon.uri, { virsh: counting });
    try {
      await daemon.kill();
      const e = await rejection(hv.capabilities());
      expect(e.kind).toBe('connection');
      expect(spawns).toBe(2);

      await daemon.start();
      expect(await hv.capabilities()).toMatch(/^<capabilities>/);
      expect(spawns).toBe(3);
    } finally {
      await hv.close();
    }
  },
  SLOW,
);
