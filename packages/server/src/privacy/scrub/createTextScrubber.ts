import type { AppSettings } from '../../apps/appSettings.js'
import { BUILT_IN_RULES } from './builtInRules.js'
import { createKeyValueRule } from './createKeyValueRule.js'
import type { SensitiveKeyMatcher } from './createSensitiveKeyMatcher.js'
import { applyRule, type TextRule } from './textRule.js'

export type TextScrubber = (text: string) => string

/**
 * Compiles the app's custom patterns with the built-in rules into one function. Custom patterns run first,
 * so an app's own identifier format (say `ORD-2024-000123`) is named by the app, not half-claimed by a
 * built-in. The key/value rule runs last, so `card=4111 1111 1111 1111` is one `[card]`, not a secret
 * cut at the first space.
 */
export function createTextScrubber(
  patterns: AppSettings['scrub']['patterns'],
  isSensitiveKey: SensitiveKeyMatcher,
  mayHoldSensitiveKey: (text: string) => boolean = () => true,
): TextScrubber {
  const rules: TextRule[] = [...patterns.flatMap(compileCustomPattern), ...BUILT_IN_RULES, createKeyValueRule(isSensitiveKey, mayHoldSensitiveKey)]
  // Nothing built in fits in fewer than 6 characters (`auth=x`, `a@b.io`); custom patterns might.
  const minLength = patterns.length > 0 ? 1 : 6
  // Custom patterns can match anything, so only the built-ins can be ruled out up front.
  const mayMatch = patterns.length > 0 ? null : MAY_MATCH_BUILT_IN
  return (text) => {
    if (text.length < minLength) return text
    if (mayMatch && !mayMatch.test(text)) return text
    let result = text
    for (let i = 0; i < rules.length; i++) result = applyRule(rules[i]!, result)
    return result
  }
}

/**
 * Something every built-in rule needs, tested once before the rules' own pre-checks: a digit (cards,
 * phones, IBANs, SSNs, IPv4, `%40`), `@` (emails, URL credentials), `:` (IPv6, `key: value`), `=`
 * (`key=value`), or a token's literal prefix. Names, enums and words (`production`, `Add to cart`,
 * `TypeError`) stop here.
 */
const MAY_MATCH_BUILT_IN = /[\d@:=]|PRIVATE KEY|eyJ|bearer|basic|gh[pousr]_|github_pat_|xox[abposr]-|_live_|_test_|AKIA|ASIA|AIza|sk-/i

/**
 * Settings parsing rejects invalid patterns, but a stored one that no longer compiles (another engine,
 * an older release) must not take ingest down: it is skipped. Empty matches are kept, so a pattern like
 * `a*` cannot sprinkle placeholders between every character.
 */
function compileCustomPattern(pattern: { name: string; regex: string }): TextRule[] {
  let regex: RegExp
  try {
    regex = new RegExp(pattern.regex, 'g')
  } catch {
    return []
  }
  const placeholder = `[${pattern.name}]`
  return [{ name: pattern.name, mayMatch: () => true, regex, replace: (match) => (match === '' ? match : placeholder) }]
}
