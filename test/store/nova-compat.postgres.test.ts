import { novaCompatSuite } from './nova-compat-suite.js';

novaCompatSuite('postgres');
