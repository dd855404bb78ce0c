/**
 * The toolkit's output files, written all or none: each goes to a temporary file beside it, and they
 * are renamed into place only once every one is written. So a path that cannot be written (a folder
 * that does not exist, a folder where a file was named, no permission, a full disk) leaves neither a
 * half-written file nor the files named before it, and the files already there stay as they were.
 * It is refused as an input error (`UNWRITABLE_OUTPUT`), one line, not a stack trace.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ScalingInputError } from './errors.ts';

export interface OutputFile {
  path: string;
  content: string | Uint8Array;
}

const REASONS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EEXIST: 'a file is in the way of a folder',
};

function unwritable(path: string, error: unknown): ScalingInputError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return new ScalingInputError('UNWRITABLE_OUTPUT', `cannot write ${path}: ${REASONS[code] ?? (code || (error as Error).message)}`, { path, code });
}

/**
 * Writes every file or none of them (see the module comment). `createFolders` makes the missing
 * folders first (`manifests --out`); folders it made stay if a later file fails.
 */
export async function writeOutputFiles(files: readonly OutputFile[], options: { createFolders?: boolean } = {}): Promise<void> {
  const temporary: string[] = [];
  try {
    for (const [i, file] of files.entries()) {
      // A folder at the path would only fail the rename, after earlier files were renamed into place.
      if ((await stat(file.path).catch(() => undefined))?.isDirectory()) throw unwritable(file.path, { code: 'EISDIR' });
      if (options.createFolders) await mkdir(dirname(file.path), { recursive: true }).catch((e: unknown) => Promise.reject(unwritable(dirname(file.path), e)));
      const temp = `${file.path}.${process.pid}-${i}.tmp`;
      await writeFile(temp, file.content, { flag: 'wx' }).catch((e: unknown) => Promise.reject(unwritable(file.path, e)));
      temporary.push(temp);
    }
    for (const [i, file] of files.entries()) await rename(temporary[i], file.path).catch((e: unknown) => Promise.reject(unwritable(file.path, e)));
  } catch (error) {
    await Promise.all(temporary.map((t) => rm(t, { force: true })));
    throw error;
  }
}
