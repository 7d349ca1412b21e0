/**
 * The Nova release the agent follows: chosen at start (auto: this host's nova-compute row; here
 * none, so the newest), logged, exposed in /healthz and /metrics, remembered in the state
 * directory; a change since the last start (Nova upgraded under it) is logged and announced as
 * hwstash.release.update.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeNotification } from '../../src/bus/envelope.js';
import { NEWEST_RELEASE } from '../../src/core/releases.js';
import { AgentHarness, httpGet, waitFor } from './helpers/harness.js';
import { parseExposition, valueOf } from './helpers/prometheus.js';

let h: AgentHarness;

beforeAll(async () => {
  h = await AgentHarness.create();
}, 60_000);

afterAll(async () => {
  await h?.cleanup();
});

test('a release other than last time is logged, announced, exposed and remembered', async () => {
  // The last start followed 2024.2 (as an agent on Nova 2024.2 would have written it).
  fs.writeFileSync(path.join(h.dir, 'nova-release.json'), JSON.stringify({ nova_release: '2024.2', services_version: 67, at: '2026-01-01T00:00:00.000Z' }));
  const tap = await h.broker!.tap(h.names.exchange, 'versioned_notifications.*');
  await h.startAgent();
  const logs = h.logs;

  const [changed] = logs.find(`Nova's release changed since the last start: 2024.2 → ${NEWEST_RELEASE.name}`);
  expect(changed).toMatchObject({ old_release: '2024.2', new_release: NEWEST_RELEASE.name, host: h.host });
  expect(logs.lines.find((l) => String(l['msg']).startsWith('following the rules of Nova'))).toMatchObject({
    nova_release: NEWEST_RELEASE.name,
    source: 'default',
    services_version: null,
  });

  let announced: ReturnType<typeof decodeNotification> | undefined;
  await waitFor(async () => {
    for (const m of await h.broker!.drain(tap)) {
      const n = decodeNotification(m.content);
      if (n.eventType === 'hwstash.release.update') announced = n;
    }
    return announced !== undefined;
  }, 30_000, `hwstash.release.update; logs: ${JSON.stringify(logs.lines.filter((l) => Number(l['level']) >= 40))}`);
  expect(announced!.data).toMatchObject({ host: h.host, old_release: '2024.2', new_release: NEWEST_RELEASE.name, services_version: null });

  const health = JSON.parse((await httpGet(`${h.metricsUrl}/healthz`)).body);
  expect(health.nova_release).toBe(NEWEST_RELEASE.name);
  const metrics = parseExposition((await httpGet(`${h.metricsUrl}/metrics`)).body);
  expect(valueOf(metrics, 'hwstash_nova_release_info', { release: NEWEST_RELEASE.name })).toBe(1);
  expect(JSON.parse(fs.readFileSync(path.join(h.dir, 'nova-release.json'), 'utf8'))).toMatchObject({ nova_release: NEWEST_RELEASE.name });
}, 90_000);
