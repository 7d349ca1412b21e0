// Nova Zed (this machine's python3-nova): archive, purge and sync on MariaDB and PostgreSQL.
import { novaManageSuite } from './nova-manage-suite.js';
import { novaZed } from './nova-releases.js';

novaManageSuite(novaZed, 'mariadb');
novaManageSuite(novaZed, 'postgres');
