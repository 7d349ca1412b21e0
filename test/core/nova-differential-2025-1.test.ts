// hwstash's resolver against the real Nova 2025.1 (Debian 13's python3-nova 31, with its
// libosinfo 1.12 and osinfo-db 2025), in the tree scripts/nova-2025.1-tree.sh builds.
import fs from 'node:fs';
import path from 'node:path';
import { findRelease } from '../../src/core/releases.js';
import { NOVA_TREE } from '../store/nova-releases.js';
import { differentialSuite } from './nova-differential-suite.js';

if (!fs.existsSync(path.join(NOVA_TREE, '.hwstash-tree-ready'))) {
  throw new Error(`no Debian 13 tree with Nova 2025.1 at ${NOVA_TREE}: run scripts/nova-2025.1-tree.sh (.ci/run does)`);
}
differentialSuite({ name: '2025.1', root: NOVA_TREE, release: findRelease('2025.1')! });
