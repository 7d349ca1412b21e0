/**
 * A reconcile in its own process, for the test that kills it mid-way:
 *   node --import tsx reconcile-child.ts URL HOST BATCH
 * Prints "batch N" after each batch commits.
 */
import { reconcileHost } from '../../src/agent/reconcile.js';
import { Store } from '../../src/store/index.js';
import { KVM_X86, OSINFO } from './fixtures.js';

const [url, host, batch] = process.argv.slice(2);
const store = await Store.open(url!);
let batches = 0;
await reconcileHost({
  store,
  host: host!,
  profile: KVM_X86,
  osinfo: OSINFO,
  domainFacts: async () => null,
  batchSize: Number(batch),
  onProgress: (p) => {
    if (p.done > 0) process.stdout.write(`batch ${++batches}\n`);
  },
});
await store.close();
