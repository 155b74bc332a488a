import type { PrivacyLevel } from '../core/types.js'
import { elementPrivacy } from './elementPrivacy.js'

/** Elements whose content is user input or code, never read for a name (at any privacy level). */
const NO_TEXT = /^(INPUT|TEXTAREA|SELECT|OPTION|FORM|SCRIPT|STYLE|TEMPLATE|NOSCRIPT)$/

/** The element a click is about: the nearest control or link around the clicked node, else the node itself. */
export function interactiveElement(target: Element): Element {
  return target.closest('button,a,input,select,textarea,label,summary,[role=button],[role=link],[role=menuitem],[role=tab],[role=option]') ?? target
}

/** Whitespace collapsed, trimmed, at most 100 characters. */
const clean = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim().slice(0, 100)

/**
 * Visible text of an element, like textContent but skipping form fields, code, and regions marked `mask` or
 * `hidden`; an image's `alt` counts as its text (as in the accessible name). Stops early on long content.
 */
function textOf(el: Element): string {
  let text = ''
  for (const node of el.childNodes) {
    if (text.length > 300) break
    if (node.nodeType === 3) text += node.nodeValue
    else if (node.nodeType === 1 && !NO_TEXT.test(node.nodeName) && !/^(mask|hidden)$/.test((node as Element).getAttribute('data-tacit-privacy') ?? '')) {
      text += node.nodeName === 'IMG' ? ' ' + ((node as Element).getAttribute('alt') ?? '') + ' ' : textOf(node as Element)
    }
  }
  return text
}

/**
 * The name of a click or submit on `target`, at the element's privacy level (see elementPrivacy; `hidden`
 * elements get no action at all, so they never reach here).
 *
 * 1. `data-tacit-action-name` on the target or an ancestor wins, at every level (the site chose it).
 * 2. Under `mask`: `Masked Element`.
 * 3. For the interactive element around the target, in accessible-name order: `aria-label`; the text of its
 *    `<label>`s (form fields); `alt`; its text content (buttons, links, labels…; for `input` buttons their
 *    `value` attribute, the caption the author wrote); `title`; `placeholder`; else its tag name.
 *
 * Input values are never read: not under `allow` either, so `allow` and `mask-user-input` name actions
 * alike. `placeholder` is the author's hint text, not user input, so it is used under both; `mask` hides it
 * with everything else.
 */
export function actionName(target: Element, level: PrivacyLevel): string {
  const explicit = clean(target.closest('[data-tacit-action-name]')?.getAttribute('data-tacit-action-name'))
  if (explicit) return explicit
  if (level === 'mask') return 'Masked Element'
  const el = interactiveElement(target)
  const attr = (name: string) => clean(el.getAttribute(name))
  // A label elsewhere in the page may sit in a masked or hidden region of its own.
  const labels = [...((el as HTMLInputElement).labels ?? [])].filter((label) => elementPrivacy(label, 'allow') === 'allow')
  return (
    attr('aria-label') ||
    clean(labels.map(textOf).join(' ')) ||
    attr('alt') ||
    clean(el.nodeName === 'INPUT' && /^(button|submit|reset)$/.test((el as HTMLInputElement).type) ? el.getAttribute('value') : NO_TEXT.test(el.nodeName) ? '' : textOf(el)) ||
    attr('title') ||
    attr('placeholder') ||
    el.localName
  )
}
