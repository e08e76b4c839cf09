/**
 * Polls every 100 ms until the condition holds; fails naming `what` after `timeoutMs`. Tests on a
 * loaded CI machine need generous bounds here: the poll ends as soon as the condition holds. A
 * module of its own, so that unit tests take it without the whole server `testing.ts` loads.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
