import { fleetSuite } from './fleet-suite.js';

fleetSuite('mariadb');
