/**
 * Reads an osinfo-db directory into an OsinfoDb: the only part of the index that touches the
 * file system.
 *
 * Only `os/` and `device/` are read. libosinfo reads every folder, but it accepts an `<os>` or
 * a `<device>` only in the file its id names, which is under `os/` or `device/`; the other
 * folders (install scripts, platforms, data maps) would be parsed for nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { groupEntityFiles } from './entity-files.js';
import { OsInfoDbError, OsInfoUnavailableError } from './errors.js';
import { buildOsinfoDb, type OsinfoDb } from './osinfo-db.js';
import { omitLocalisedLines, parseOsinfoXml, type OsinfoDocument } from './osinfo-xml.js';

const ENTITY_FOLDERS = ['os', 'device'] as const;

// The callback API: fs.promises.readFile reads in chunks and is several times slower for
// hundreds of small files.
const readFile = promisify(fs.readFile);

export async function readOsinfoDb(dir: string): Promise<OsinfoDb> {
  await requireFolder(dir, dir, `osinfo-db directory ${dir} does not exist`, `osinfo-db directory ${dir} is not a directory`);
  await requireFolder(
    path.join(dir, 'os'),
    dir,
    `osinfo-db directory ${dir} has no os/ folder (is osinfo-db installed?)`,
    `osinfo-db directory ${dir} has no os/ folder: ${path.join(dir, 'os')} is not a directory`,
  );

  const entities = groupEntityFiles(await osinfoXmlFiles(dir));

  // Files are read concurrently and each is parsed as soon as it arrives, so parsing overlaps
  // the reads still in flight; the documents are then applied in processing order.
  const ordered = entities.flatMap((entity) => entity.files);
  const docs = await Promise.all(ordered.map(async (relPath) => ({ doc: await readDocument(dir, relPath), relPath })));
  return buildOsinfoDb(docs);
}

/** The `os/` and `device/` XML files of a db, `/`-separated and relative to `dir`. */
export async function osinfoXmlFiles(dir: string): Promise<string[]> {
  const relativePaths: string[] = [];
  for (const folder of ENTITY_FOLDERS) await collectXmlFiles(dir, folder, relativePaths);
  return relativePaths;
}

async function readDocument(dir: string, rel: string): Promise<OsinfoDocument> {
  const file = path.join(dir, rel);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new OsInfoDbError(`cannot read osinfo-db file ${file}: ${(err as Error).message}`, file, { cause: err });
  }
  try {
    return parseOsinfoXml(rel.startsWith('os/') ? omitLocalisedLines(text) : text, file);
  } catch (err) {
    throw new OsInfoDbError(`${(err as Error).message} (libosinfo refuses such a file, and the whole db with it)`, file, { cause: err });
  }
}

async function requireFolder(folder: string, dir: string, missing: string, notFolder: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(folder);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OsInfoUnavailableError(code === 'ENOENT' ? missing : `${missing}: ${(err as Error).message}`, dir, { cause: err });
  }
  if (!stat.isDirectory()) throw new OsInfoUnavailableError(notFolder, dir);
}

/** Appends `/`-separated paths, relative to `dir`, of every `*.xml` below `dir/rel` (symlinks followed, as GIO does). */
async function collectXmlFiles(dir: string, rel: string, out: string[]): Promise<void> {
  const folder = path.join(dir, rel);
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(folder, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new OsInfoDbError(`cannot list osinfo-db folder ${folder}: ${(err as Error).message}`, folder, { cause: err });
  }
  const subfolders: string[] = [];
  for (const entry of entries) {
    const child = `${rel}/${entry.name}`;
    let isFile = entry.isFile();
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      const target = await fs.promises.stat(path.join(dir, child)).catch(() => null);
      isFile = target?.isFile() ?? false;
      isDirectory = target?.isDirectory() ?? false;
    }
    if (isDirectory) subfolders.push(child);
    else if (isFile && entry.name.endsWith('.xml')) out.push(child);
  }
  await Promise.all(subfolders.map((sub) => collectXmlFiles(dir, sub, out)));
}
