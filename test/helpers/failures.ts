/** The rejection of `run`, which must reject (a test that inspects the error itself, not only its message). */
export async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}
