// Nova 2025.1 (the Debian 13 tree): the stash against Nova's own saves, on PostgreSQL; its
// nova-manage updates the RequestSpec, which tells an operator's set from a stale save.
import { novaRacesSuite } from './nova-races-suite.js';
import { nova2025_1 } from './nova-releases.js';

novaRacesSuite(nova2025_1, 'postgres');
