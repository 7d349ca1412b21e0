import { stashSuite } from './stash-suite.js';

stashSuite('sqlite');
