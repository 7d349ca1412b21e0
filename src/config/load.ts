/**
 * Finding and reading the configuration files, OpenStack's way: `--config-file` (repeatable,
 * later files win); without it /etc/nova/nova.conf then /etc/hwstash/hwstash.conf, those that
 * exist; with neither, the defaults shipped in the package's config/hwstash.conf.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCredentialFileMode } from './credentials.js';
import { ConfigError } from './errors.js';
import { parseIni } from './ini.js';
import { resolveSettings, secretsIn, type ConfigSource } from './resolve.js';
import { redactText } from './redact.js';
import type { Settings } from './settings.js';

export const DEFAULT_CONFIG_FILES: readonly string[] = ['/etc/nova/nova.conf', '/etc/hwstash/hwstash.conf'];

/** Environment variable replacing DEFAULT_CONFIG_FILES (colon-separated), so tests and packagers can point elsewhere. */
export const DEFAULT_CONFIG_FILES_ENV = 'HWSTASH_DEFAULT_CONFIG_FILES';

export interface LoadOptions {
  /** From repeated --config-file; every one must exist. */
  configFiles?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Default of [DEFAULT] host; the machine's hostname when absent. */
  hostname?: string;
  /** Base for relative paths; process.cwd() when absent. */
  cwd?: string;
}

/**
 * The shipped defaults file. Found from this module's own location, so it works from src/
 * (jest) and from dist/src/ (built): the nearest directory upwards with a package.json.
 */
export function embeddedConfigPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'config', 'hwstash.conf');
    const parent = path.dirname(dir);
    if (parent === dir) throw new ConfigError('cannot find the shipped config/hwstash.conf: no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** oslo.config's _fixpath: ~ expanded, made absolute. */
function absolute(file: string, cwd: string): string {
  const expanded = file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file;
  return path.resolve(cwd, expanded);
}

function readSource(file: string): ConfigSource {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(code ?? err);
    throw new ConfigError(`cannot read config file ${file}: ${why}`, { origin: file });
  }
  const doc = parseIni(text, file);
  checkCredentialFileMode(file, mode, doc);
  return { file, doc };
}

export function loadSettings(opts: LoadOptions = {}): { settings: Settings; warnings: string[] } {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.configFiles && opts.configFiles.length > 0;

  let files: string[];
  if (explicit) {
    files = opts.configFiles!.map((f) => absolute(f, cwd));
  } else {
    const defaults = env[DEFAULT_CONFIG_FILES_ENV] !== undefined ? env[DEFAULT_CONFIG_FILES_ENV]!.split(':').filter((f) => f !== '') : DEFAULT_CONFIG_FILES;
    files = defaults.map((f) => absolute(f, cwd)).filter((f) => fs.existsSync(f));
  }
  const embedded = files.length === 0;
  if (embedded) files = [embeddedConfigPath()];

  const sources: ConfigSource[] = [];
  try {
    for (const file of files) sources.push(readSource(file));
  } catch (err) {
    // A parse error in a later file must not show a password read from an earlier one.
    if (err instanceof Error) err.message = redactText(err.message, secretsIn(sources, env));
    throw err;
  }
  return resolveSettings(sources, { hostname: opts.hostname ?? os.hostname(), env, cwd, embedded });
}
