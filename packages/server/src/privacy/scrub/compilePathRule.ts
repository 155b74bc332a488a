/**
 * A path rule is a glob over URL path segments: `*` matches one segment and is replaced by `[redacted]`,
 * `**` matches any number of segments and keeps them. A rule matches the whole path (a trailing slash is
 * allowed), so `/users/*\/settings` does not touch `/users/42/settings/billing`; write `/users/*\/settings/**`
 * for that.
 */
export type PathRule = (path: string) => string | undefined

export function compilePathRule(glob: string): PathRule {
  const segments = glob.split('/')
  const source = segments
    .map((segment) => {
      if (segment === '**') return '(?:[^/]*(?:/[^/]*)*)'
      if (segment === '*') return '([^/]+)'
      return segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')
    })
    .join('/')
  // `d` gives each group's offsets, so a redacted segment is replaced where it matched, not where its text first occurs.
  const regex = new RegExp(`^${source}/?$`, 'd')
  return (path) => {
    const match = regex.exec(path)
    if (!match?.indices) return undefined
    let result = ''
    let cursor = 0
    for (let group = 1; group < match.indices.length; group++) {
      const [start, end] = match.indices[group]!
      result += path.slice(cursor, start) + '[redacted]'
      cursor = end
    }
    return result + path.slice(cursor)
  }
}
