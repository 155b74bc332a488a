/**
 * One scrubbing rule over free text. `mayMatch` is a cheap pre-check (a character or literal the pattern
 * cannot do without) so the common clean string skips the regex entirely on the ingest hot path.
 */
export interface TextRule {
  name: string
  mayMatch: (text: string) => boolean
  /** Global regex; `replace` gets the match and its groups and returns the replacement (or the match, to keep it). */
  regex: RegExp
  replace: (match: string, ...groups: string[]) => string
}

export function applyRule(rule: TextRule, text: string): string {
  if (!rule.mayMatch(text)) return text
  return text.replace(rule.regex, rule.replace as (match: string, ...rest: unknown[]) => string)
}
