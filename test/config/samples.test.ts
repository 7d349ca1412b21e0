import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigSample, EMBEDDED_SAMPLE, PRODUCTION_SAMPLE } from '../../src/config/sample.js';
import { OPTIONS } from '../../src/config/options.js';
import { parseIni, valuesOf } from '../../src/config/ini.js';
import { embeddedConfigPath, loadSettings } from '../../src/config/load.js';
import { tempDir } from './tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shipped = (name: string): string => fs.readFileSync(path.join(root, 'config', name), 'utf8');

describe('shipped configuration files', () => {
  test('embeddedConfigPath finds config/hwstash.conf of this package', () => {
    expect(embeddedConfigPath()).toBe(path.join(root, 'config', 'hwstash.conf'));
  });

  // If this fails after changing src/config/options.ts, regenerate the files from the table:
  //   npm run build; node -e "import('./dist/src/config/sample.js').then((m) => { const fs = require('fs');
  //     fs.writeFileSync('config/hwstash.conf', m.renderConfigSample(m.EMBEDDED_SAMPLE));
  //     fs.writeFileSync('config/hwstash.conf.sample', m.renderConfigSample(m.PRODUCTION_SAMPLE)); })"
  test('config/hwstash.conf and config/hwstash.conf.sample are the rendering of the option table', () => {
    expect(shipped('hwstash.conf')).toBe(renderConfigSample(EMBEDDED_SAMPLE));
    expect(shipped('hwstash.conf.sample')).toBe(renderConfigSample(PRODUCTION_SAMPLE));
  });

  test('every option appears commented with its default, in its section', () => {
    const text = shipped('hwstash.conf');
    for (const o of OPTIONS) {
      const section = text.indexOf(`\n[${o.section}]\n`);
      expect(section).toBeGreaterThanOrEqual(0);
      const next = text.indexOf('\n[', section + 1);
      const body = text.slice(section, next < 0 ? undefined : next);
      expect(body).toMatch(new RegExp(`^#${o.name} =`, 'm'));
    }
  });

  test('the production sample sets nothing and holds only [hwstash]', () => {
    const doc = parseIni(shipped('hwstash.conf.sample'), 'sample');
    expect([...doc.sections.keys()]).toEqual(['hwstash']);
    expect(doc.sections.get('hwstash')!.size).toBe(0);
  });

  test('the embedded defaults hold no credentials', () => {
    const doc = parseIni(shipped('hwstash.conf'), 'embedded');
    const url = valuesOf(doc, 'DEFAULT', 'transport_url')[0]!.value;
    expect(url).toBe('rabbit://127.0.0.1:5672/');
    expect(url).not.toContain('@');
  });

  test('nova.conf.example configures versioned notifications, so loading it gives no warning', () => {
    const tmp = tempDir();
    try {
      const file = tmp.write('nova.conf', shipped('nova.conf.example'), 0o640);
      const { settings, warnings } = loadSettings({ configFiles: [file], env: {}, cwd: tmp.dir });
      expect(warnings).toEqual([]);
      expect(settings.notificationFormat).toBe('versioned');
      expect(settings.notificationDrivers).toEqual(['messagingv2']);
      expect(settings.host).toBe('compute-01');
      expect(settings.databaseConnection.startsWith('mysql+pymysql://')).toBe(true);
    } finally {
      tmp.remove();
    }
  });
});
