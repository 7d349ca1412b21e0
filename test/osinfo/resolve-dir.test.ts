import { DEFAULT_OSINFO_DIR, resolveOsinfoDir } from '../../src/osinfo/index.js';

test('OSINFO_SYSTEM_DIR wins, then the configured directory, then /usr/share/osinfo', () => {
  expect(resolveOsinfoDir('/etc/conf', { OSINFO_SYSTEM_DIR: '/from/env' })).toBe('/from/env');
  expect(resolveOsinfoDir('/etc/conf', {})).toBe('/etc/conf');
  expect(resolveOsinfoDir(undefined, {})).toBe('/usr/share/osinfo');
  expect(DEFAULT_OSINFO_DIR).toBe('/usr/share/osinfo');
});

test('empty values count as unset', () => {
  expect(resolveOsinfoDir('/etc/conf', { OSINFO_SYSTEM_DIR: '' })).toBe('/etc/conf');
  expect(resolveOsinfoDir('', { OSINFO_SYSTEM_DIR: '' })).toBe('/usr/share/osinfo');
});

test('reads process.env by default', () => {
  const saved = process.env.OSINFO_SYSTEM_DIR;
  process.env.OSINFO_SYSTEM_DIR = '/from/process';
  try {
    expect(resolveOsinfoDir('/etc/conf')).toBe('/from/process');
  } finally {
    if (saved === undefined) delete process.env.OSINFO_SYSTEM_DIR;
    else process.env.OSINFO_SYSTEM_DIR = saved;
  }
});
