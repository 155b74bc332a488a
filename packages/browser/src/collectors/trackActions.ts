import { guard } from '../core/guard.js'
import type { Collector, RumEvent } from '../core/types.js'
import { actionName, interactiveElement } from '../privacy/actionName.js'
import { cssSelector } from '../privacy/cssSelector.js'
import { elementPrivacy } from '../privacy/elementPrivacy.js'

/** How long after a click its effects (a DOM change, a navigation, an error) are looked for. */
const WINDOW = 100

/**
 * Clicks that should visibly do something, so a click with no effect is a dead click. Only button-like
 * controls: links are left out because a navigation may take longer than the window (and opening a new tab
 * changes nothing here); text, labels, form fields, `contenteditable`, checkboxes and canvases are left out
 * because clicking them legitimately changes no DOM (focus, caret, `checked`, drawing).
 */
const DEAD_CANDIDATE = 'button,[role=button],[role=tab],[role=menuitem],input[type=button],input[type=submit],input[type=reset]'

interface PendingClick {
  ts: number
  view: { id: string; url: string; referrer?: string }
  href: string
  action: { type: 'click'; name: string; target: string; frustration?: string[]; duration?: number }
  rage: boolean
  /** Still a dead click: a DEAD_CANDIDATE and nothing (DOM change, submit, page hide) followed yet. */
  dead: boolean
  error?: boolean
  /** When the DOM first changed after the click. */
  changed?: number
  timer?: ReturnType<typeof setTimeout>
}

/**
 * Click and submit actions, named by actionName at the element's privacy level, with frustration signals:
 * - rage_click: the 3rd click on the same control within 1 s (the count then starts over);
 * - dead_click: a click on a DEAD_CANDIDATE followed within 100 ms by no DOM mutation, no URL change, no
 *   form submit and no page hide;
 * - error_click: an `error` event emitted within 100 ms of the click.
 * A click is therefore emitted when its 100 ms window ends (one-shot timer per click), with `ts` = the click
 * time and `duration` = the time to the first DOM change. The MutationObserver runs only while a click is
 * pending, so an idle page costs nothing.
 */
export const trackActions: Collector = (sdk) => {
  if (sdk.options.trackActions === false) return () => {}
  const pending = new Set<PendingClick>()
  let rageElement: Element | undefined
  let rageTimes: number[] = []

  const observer = new MutationObserver(() => {
    const now = sdk.now()
    pending.forEach((click) => {
      click.changed ??= now
      click.dead = false
    })
  })

  function finish(click: PendingClick): void {
    clearTimeout(click.timer)
    pending.delete(click)
    if (!pending.size) observer.disconnect()
    const { action } = click
    const frustration = []
    if (click.rage) frustration.push('rage_click')
    if (click.dead && location.href === click.href) frustration.push('dead_click')
    if (click.error) frustration.push('error_click')
    if (frustration.length) action.frustration = frustration
    if (click.changed) action.duration = click.changed - click.ts
    // The view the click happened in, even if it started a route change since.
    sdk.emit({ type: 'action', ts: click.ts, view: click.view, action })
  }
  /** Something followed the pending clicks (a submit, the page going away): none of them is dead. */
  const settle = () => pending.forEach((click) => (click.dead = false))
  const flush = () => {
    settle()
    pending.forEach(finish)
  }

  const onClick = guard((event: MouseEvent) => {
    const target = event.target
    if (!(target instanceof Element)) return
    const level = elementPrivacy(target, sdk.options.privacy)
    if (level === 'hidden') return
    const el = interactiveElement(target)
    // Clicking a label also clicks its control, which gets its own action (named by the label).
    if (el.nodeName === 'LABEL' && (el as HTMLLabelElement).control && (el as HTMLLabelElement).control !== target) return
    const ts = sdk.now()
    const { id, url, referrer } = sdk.view()
    if (el !== rageElement) rageTimes = []
    rageElement = el
    rageTimes = rageTimes.filter((t) => ts - t <= 1000).concat(ts)
    const rage = rageTimes.length >= 3
    if (rage) rageTimes = []
    const click: PendingClick = {
      ts,
      view: { id, url, referrer },
      href: location.href,
      action: { type: 'click', name: actionName(target, level), target: cssSelector(target) },
      rage,
      dead: el.matches(DEAD_CANDIDATE) && !el.closest('[contenteditable]'),
    }
    if (!pending.size) observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true })
    pending.add(click)
    click.timer = setTimeout(guard(() => finish(click)), WINDOW)
  })

  const onSubmit = guard((event: SubmitEvent) => {
    const form = event.target as Element
    const el = event.submitter ?? form
    const level = elementPrivacy(el, sdk.options.privacy)
    if (level === 'hidden' || elementPrivacy(form, 'allow') === 'hidden') return
    settle()
    sdk.emit({ type: 'action', action: { type: 'submit', name: actionName(el, level), target: cssSelector(form) } })
  })

  const offEvent = sdk.onEvent((event: RumEvent) => {
    if (event.type === 'error') pending.forEach((click) => (click.error = true))
  })
  // The page is going away (often because of the click): send what is pending, without judging it dead.
  const offHide = sdk.onHide(flush)
  document.addEventListener('click', onClick, true)
  document.addEventListener('submit', onSubmit, true)

  return () => {
    flush()
    observer.disconnect()
    offEvent()
    offHide()
    document.removeEventListener('click', onClick, true)
    document.removeEventListener('submit', onSubmit, true)
  }
}
