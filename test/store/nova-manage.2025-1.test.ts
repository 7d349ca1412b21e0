// Nova 2025.1 (Debian 13's python3-nova, in the tree scripts/nova-2025.1-tree.sh builds).
import { novaManageSuite } from './nova-manage-suite.js';
import { nova2025_1 } from './nova-releases.js';

novaManageSuite(nova2025_1, 'mariadb');
novaManageSuite(nova2025_1, 'postgres');
