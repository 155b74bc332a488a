import type { PrivacyLevel } from '../core/types.js'

/**
 * The privacy level that applies to an element: `hidden` when the element or any ancestor says
 * `data-tacit-privacy="hidden"` (a hidden region stays hidden whatever its descendants say, as in Datadog's
 * reconcilePrivacyLevel), else the nearest `allow` or `mask` on the element or an ancestor, else the init
 * option. Unknown attribute values are ignored.
 */
export function elementPrivacy(el: Element, fallback: PrivacyLevel): PrivacyLevel | 'hidden' {
  if (el.closest('[data-tacit-privacy=hidden]')) return 'hidden'
  return (el.closest('[data-tacit-privacy=allow],[data-tacit-privacy=mask]')?.getAttribute('data-tacit-privacy') as PrivacyLevel | undefined) ?? fallback
}
