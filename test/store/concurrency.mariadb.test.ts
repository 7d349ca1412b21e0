import { concurrencySuite } from './concurrency-suite.js';

concurrencySuite('mariadb');
