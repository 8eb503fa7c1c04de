// Waiting for asynchronous state (watches, reloads) without fixed sleeps.

/** eventually retries check until it returns without throwing, or rethrows its last error after timeoutMs. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 3000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** expect throws when a condition does not hold, for use inside eventually. */
export function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}
