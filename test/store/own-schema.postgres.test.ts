import { ownSchemaSuite } from './own-schema-suite.js';

ownSchemaSuite('postgres');
