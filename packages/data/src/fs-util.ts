import { link, mkdir, rename, rm, stat, symlink, writeFile, copyFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes a file through a temporary file and a rename, so readers never see it half-written. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** How the importer puts images into the new folder. */
export type LinkMode = 'copy' | 'hardlink' | 'symlink';

/** Places `source` at `target` (atomically, through a temporary name); a hard link falls back to a copy across devices. */
export async function placeFile(source: string, target: string, mode: LinkMode): Promise<void> {
  const tmp = `${target}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  if (mode === 'symlink') await symlink(source, tmp);
  else if (mode === 'hardlink') await link(source, tmp).catch(() => copyFile(source, tmp));
  else await copyFile(source, tmp);
  await rename(tmp, target);
}
