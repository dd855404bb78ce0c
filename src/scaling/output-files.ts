/**
 * The toolkit's output files, written all or none: each goes to a temporary file beside it, and they
 * are renamed into place only once every one is written. So a path that cannot be written (a folder
 * that does not exist, a folder where a file was named, no permission, a full disk) leaves neither a
 * half-written file nor the files named before it, and the files already there stay as they were.
 * It is refused as an input error (`UNWRITABLE_OUTPUT`), one line, not a stack trace.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
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
 * `mkdir -p`, one level at a time. Node's recursive mkdir never returns when a folder exists but cannot
 * hold new ones (`/proc`: mkdir /proc/x answers ENOENT, /proc itself EEXIST, and it retries the two
 * forever: `manifests --out /proc/x` hung until killed). Here the first failure is final.
 */
async function makeFolders(path: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const found = await stat(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    if (found?.isDirectory()) break;
    if (found) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing) {
    await mkdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return;
      // The folder above exists (made or found just before) and still refused it: say so rather than "does not exist".
      if (e.code === 'ENOENT') throw new ScalingInputError('UNWRITABLE_OUTPUT', `cannot write ${path}: ${dirname(dir)} does not take new folders (mkdir ${dir}: ENOENT)`, { path, code: e.code });
      throw e;
    });
  }
}

/**
 * Writes every file or none of them (see the module comment). `createFolders` makes the missing
 * folders first (`manifests --out`); folders it made stay if a later file fails.
 */
export async function writeOutputFiles(files: readonly OutputFile[], options: { createFolders?: boolean } = {}): Promise<void> {
  // Two outputs to one path (`alerts --out r.yml --tests ./r.yml`): the second rename replaced the first
  // file, and both were reported written.
  const named = new Map<string, string>();
  for (const file of files) {
    const earlier = named.get(resolve(file.path));
    if (earlier !== undefined) throw new ScalingInputError('INVALID_OPTION', `${earlier} and ${file.path} name the same file: give each output its own path`, { path: file.path });
    named.set(resolve(file.path), file.path);
  }
  const temporary: string[] = [];
  try {
    for (const [i, file] of files.entries()) {
      // A folder at the path would only fail the rename, after earlier files were renamed into place.
      if ((await stat(file.path).catch(() => undefined))?.isDirectory()) throw unwritable(file.path, { code: 'EISDIR' });
      if (options.createFolders) await makeFolders(dirname(file.path)).catch((e: unknown) => Promise.reject(e instanceof ScalingInputError ? e : unwritable(dirname(file.path), e)));
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
