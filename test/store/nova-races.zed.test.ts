// Nova Zed (this machine's python3-nova): the stash against Nova's own saves, on MariaDB.
import { novaRacesSuite } from './nova-races-suite.js';
import { novaZed } from './nova-releases.js';

novaRacesSuite(novaZed, 'mariadb');
