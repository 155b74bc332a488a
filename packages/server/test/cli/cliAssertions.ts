import { expect } from 'vitest'
import type { CliResult } from '../support/tacitProcess.js'

/** A user error: exit 1, nothing on stdout, one sentence on stderr, no stack trace (DESIGN.md §3.11). */
export function expectOneSentenceError(result: CliResult, pattern: RegExp): void {
  expect(result.stderr, `stdout: ${result.stdout}`).toMatch(/^tacit: [^\n]+\n$/)
  expect(result.stderr).not.toMatch(/^ {4}at /m)
  expect(result.stderr).toMatch(pattern)
  expect(result.stdout).toBe('')
  expect(result.code).toBe(1)
}

/** A successful run: exit 0 and nothing on stderr (not a terminal, so no progress either). */
export function expectSuccess(result: CliResult): string {
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  return result.stdout
}

export function parseJson<T = Record<string, unknown>>(result: CliResult): T {
  return JSON.parse(expectSuccess(result)) as T
}

export function parseNdjson(result: CliResult): Array<Record<string, unknown>> {
  const out = expectSuccess(result)
  if (out === '') return []
  expect(out.endsWith('\n')).toBe(true)
  return out
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}
