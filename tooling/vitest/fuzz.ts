// Shared shape of the parser fuzz tests: 500 cases in the default suite, 10,000 in the slow one; a parser may return or
// throw its package's typed error, nothing else.
import { describe, expect } from 'vitest';

/** Declares the body twice: `numRuns` 500 (default suite) and 10,000 (tagged slow). */
export function fuzzSuites(name: string, body: (numRuns: number, suite: 'default' | 'slow') => void): void {
  describe(`${name} (500 cases)`, () => body(500, 'default'));
  describe(`${name} (10,000 cases)`, { tags: ['slow'] }, () => body(10_000, 'slow'));
}

/** Runs `fn`; anything it throws must pass `isTyped` and carry a message. */
export async function typedOnly(fn: () => unknown, isTyped: (error: unknown) => boolean): Promise<void> {
  try {
    await fn();
  } catch (error) {
    expect(isTyped(error), String(error)).toBe(true);
    expect((error as Error).message.length).toBeGreaterThan(0);
  }
}
