/** The bound on a shutdown step that may wait on a server that does not answer (a black-holed Redis): with it answering, such a step takes milliseconds. */
export const CLOSE_STEP_MS = 1000;

/**
 * Resolves with whether `work` settled (resolved or rejected) within `ms`. `work` goes on, or hangs, unawaited after
 * that: for shutdown steps that may wait on a server that never answers, where the process exits anyway.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = work.then(
    () => true,
    () => true,
  );
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([settled, late]);
  clearTimeout(timer);
  return result;
}
