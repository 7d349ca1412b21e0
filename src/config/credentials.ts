/**
 * A configuration file that holds a password must not be readable by every local user: hwstash
 * refuses to start on one rather than keep working with a leaked credential. Pure: the caller
 * stats the file.
 */
import { ConfigError } from './errors.js';
import { valuesOf, type IniDocument } from './ini.js';
import { OPTIONS } from './options.js';
import { urlHasPassword } from './redact.js';

/** The credential-bearing options (`[section] name`) to which this file gives a password. */
export function credentialsIn(doc: IniDocument): string[] {
  return OPTIONS.filter((o) => o.secret && valuesOf(doc, o.section, o.name).some((v) => urlHasPassword(v.value))).map(
    (o) => `[${o.section}] ${o.name}`,
  );
}

/** Throws ConfigError when `doc` holds a credential and `mode` lets others read it. */
export function checkCredentialFileMode(file: string, mode: number, doc: IniDocument): void {
  if ((mode & 0o004) === 0 || credentialsIn(doc).length === 0) return;
  const octal = (mode & 0o7777).toString(8).padStart(4, '0');
  throw new ConfigError(`${file} holds credentials and is readable by others (mode ${octal}); run: chmod o-r ${file}`, { origin: file });
}
