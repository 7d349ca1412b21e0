// hwstash's resolver against the real Nova Zed (Debian 12's python3-nova, this machine's osinfo-db).
import { ZED } from '../../src/core/releases.js';
import { differentialSuite } from './nova-differential-suite.js';

differentialSuite({ name: 'Zed', root: '/', release: ZED });
