/**
 * The files the toolkit is given (sale events, histories, pricing catalogues, benchmark results, kubectl
 * output) are read here, as UTF-8 text without a leading byte-order mark. Excel ("CSV UTF-8"), Windows
 * PowerShell (`-Encoding utf8`) and older Notepads write one; the CSV readers skip it (csv-parse's `bom`)
 * and YAML ignores it, but `JSON.parse` refuses it ("Unexpected token"), so an events file saved on Windows
 * was "not valid JSON" while the same events as a CSV were taken. One reader for every input file, so that
 * no format is left out.
 */
import { readFile } from 'node:fs/promises';

const BYTE_ORDER_MARK = 0xfeff;

/** The file's text, without a leading byte-order mark. Rejects as `readFile` does: each caller names the file in its own error. */
export async function readInputFile(path: string): Promise<string> {
  const text = await readFile(path, 'utf8');
  return text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text;
}
