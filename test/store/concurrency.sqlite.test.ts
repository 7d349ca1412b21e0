import { concurrencySuite } from './concurrency-suite.js';

concurrencySuite('sqlite');
