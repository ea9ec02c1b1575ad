/**
 * Unpacks the embedded database's snapshot (a gzipped tarball from PGlite's `dumpDataDir`: plain
 * files and directories under one top folder) into a new data directory, all or nothing: it is
 * written beside the directory and renamed into place, so a process stopped halfway leaves no
 * half-made database behind, only a leftover that the next start removes.
 */
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, normalize, sep } from 'node:path';
import { promisify } from 'node:util';
import { threadId } from 'node:worker_threads';
import { gunzip } from 'node:zlib';

const BLOCK = 512;
const LEFTOVER = '.unpacking-';

/** Unpacks `tarball` as the directory `into`, which must not exist yet (or be empty). */
export async function unpackSnapshot(tarball: string, into: string): Promise<void> {
  const parent = dirname(into);
  await mkdir(parent, { recursive: true });
  // Leftovers of a start that was stopped while unpacking.
  for (const entry of await readdir(parent)) {
    if (entry.startsWith(`${basename(into)}${LEFTOVER}`)) await rm(join(parent, entry), { recursive: true, force: true });
  }
  const staging = `${into}${LEFTOVER}${process.pid}-${threadId}`;
  await mkdir(staging);
  const archive = await promisify(gunzip)(await readFile(tarball));
  const writes: Promise<void>[] = [];
  for (let offset = 0; offset + BLOCK <= archive.length; ) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const text = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0[\s\S]*$/, '');
    const prefix = text(345, 155);
    const name = prefix ? `${prefix}/${text(0, 100)}` : text(0, 100);
    const size = Number.parseInt(text(124, 12).trim() || '0', 8);
    const type = text(156, 1);
    offset += BLOCK;
    // Paths are relative to the archive's top folder; anything that would leave it is refused.
    const relative = normalize(name.split('/').slice(1).join('/'));
    if (relative.startsWith('..') || relative.startsWith(sep)) throw new Error(`The snapshot has an entry outside its folder: ${name}`);
    const target = join(staging, relative);
    if (type === '5') await mkdir(target, { recursive: true });
    else if (type === '0' || type === '') {
      await mkdir(dirname(target), { recursive: true });
      writes.push(writeFile(target, archive.subarray(offset, offset + size)));
    }
    offset += Math.ceil(size / BLOCK) * BLOCK;
  }
  await Promise.all(writes);
  await rmdir(into).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(staging, into);
}
