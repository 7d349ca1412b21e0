/**
 * The index against Debian 13's libosinfo 1.12 on its osinfo-db (2025), in the tree with Nova
 * 2025.1 (scripts/nova-2025.1-tree.sh): every OS id and short-id gives Nova's answer there too
 * (RELEASES.md: libosinfo 1.12 orders devices as 1.10 does).
 */
import fs from 'node:fs';
import path from 'node:path';
import { OsInfoIndex } from '../../src/osinfo/index.js';
import { NOVA_TREE } from '../store/nova-releases.js';
import { novaAnswer, runLibosinfoOracle } from './oracle.js';

test("every OS id and short-id of osinfo-db 2025 answers as Nova on libosinfo 1.12 does", async () => {
  if (!fs.existsSync(path.join(NOVA_TREE, '.hwstash-tree-ready'))) {
    throw new Error(`no Debian 13 tree at ${NOVA_TREE}: run scripts/nova-2025.1-tree.sh (.ci/run does)`);
  }
  const oracle = runLibosinfoOracle('/usr/share/osinfo', [], NOVA_TREE);
  const index = await OsInfoIndex.load(path.join(NOVA_TREE, 'usr/share/osinfo'));
  expect(index.osCount).toBe(oracle.oses.length);
  expect(oracle.oses.length).toBeGreaterThan(900); // 933 in osinfo-db 20250619
  const names = Object.keys(oracle.lookups);
  const mismatches = names
    .map((name) => ({ name, nova: novaAnswer(oracle.lookups[name]!), ours: index.lookup(name) }))
    .filter((row) => JSON.stringify(row.nova) !== JSON.stringify(row.ours));
  console.log(`osinfo (Debian 13): ${oracle.oses.length} OSes, ${names.length} names, ${mismatches.length} differences`);
  expect(mismatches).toEqual([]);
}, 120_000);
