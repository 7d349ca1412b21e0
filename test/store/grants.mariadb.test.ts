import { grantsSuite } from './grants-suite.js';

grantsSuite('mariadb');
