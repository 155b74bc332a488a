import type { IssueDelta } from './collectIssueDeltas.js'

/**
 * The regression rule, shared by every store adapter: a resolved issue opens again (status `open`,
 * `regressed_at` set) when it gets an event
 * - whose release was first seen by the server after the issue was resolved (a newer deploy still has the
 *   bug), or
 * - that names no release at all (nothing shows it comes from code older than the fix).
 * Events of releases already seen before the resolution — old clients with a cached bundle, which still
 * have the bug the fix removed — keep counting but do not re-open it. Ignored issues never re-open.
 *
 * Returns the `ts` of the earliest qualifying event of the group, or undefined when none qualifies.
 * `releaseFirstSeen` gives a release's first receive time (the `releases` table, already updated with this
 * group, so a release first seen now counts as newer than any earlier resolution).
 */
export function regressionAt(
  delta: IssueDelta,
  resolvedAt: number,
  releaseFirstSeen: (release: string) => number | undefined,
): number | undefined {
  let at = delta.firstWithoutRelease ?? undefined
  for (const [release, seen] of delta.releases) {
    const firstSeen = releaseFirstSeen(release)
    if (firstSeen === undefined || firstSeen > resolvedAt) at = Math.min(at ?? seen.firstSeen, seen.firstSeen)
  }
  return at
}
