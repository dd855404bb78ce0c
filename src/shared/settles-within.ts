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
