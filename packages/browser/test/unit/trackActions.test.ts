// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { trackActions } from '../../src/collectors/trackActions.js'
import type { PrivacyLevel } from '../../src/core/types.js'
import { fakeCoreSdk } from './fakeCoreSdk.js'

function fakeSdk(privacy: PrivacyLevel = 'mask-user-input') {
  const fake = fakeCoreSdk({ privacy, trackActions: true })
  return { ...fake, actions: () => fake.ofType('action') }
}

const $ = (selector: string) => document.querySelector(selector) as HTMLElement
let stop: (() => void) | undefined

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 })
  history.replaceState(null, '', '/')
})
afterEach(() => {
  stop?.()
  stop = undefined
  vi.useRealTimers()
  document.body.innerHTML = ''
})

function start(markup: string, privacy?: PrivacyLevel) {
  document.body.innerHTML = markup
  const fake = fakeSdk(privacy)
  stop = trackActions(fake.sdk)
  return fake
}

describe('trackActions', () => {
  it('does nothing when trackActions is off', () => {
    const fake = fakeSdk()
    ;(fake.sdk.options as { trackActions: boolean }).trackActions = false
    document.body.innerHTML = '<button>Buy</button>'
    trackActions(fake.sdk)()
    $('button').click()
    vi.advanceTimersByTime(200)
    expect(fake.events).toEqual([])
  })

  it('emits a click once its 100 ms window ends, with the click time, name and target', async () => {
    const { events, actions } = start('<main id="shop"><button class="buy primary"><span>Add to cart</span></button></main>')
    const t0 = Date.now()
    $('span').click()
    await vi.advanceTimersByTimeAsync(99)
    expect(events).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(actions()).toEqual([{ type: 'click', name: 'Add to cart', target: 'main#shop>button.buy.primary>span', frustration: ['dead_click'] }])
    expect(events[0]!.ts).toBe(t0)
    expect(events[0]!.view).toMatchObject({ id: 'view-0' })
  })

  it('gives no action at all for hidden elements, and Masked Element under mask', async () => {
    const { actions } = start(`
      <div data-tacit-privacy="hidden"><button id="h">Secret</button></div>
      <div data-tacit-privacy="mask"><button id="m">Jane Doe</button><button id="n" data-tacit-action-name="Profile">Jane</button></div>
      <button id="a">Open</button>`)
    for (const id of ['h', 'm', 'n', 'a']) $(`#${id}`).click()
    await vi.advanceTimersByTimeAsync(100)
    expect(actions().map((action) => action.name)).toEqual(['Masked Element', 'Profile', 'Open'])
  })

  it('applies the init privacy level unless an element overrides it', async () => {
    const { actions } = start('<button id="a">Jane Doe</button><p data-tacit-privacy="allow"><button id="b">Public</button></p>', 'mask')
    $('#a').click()
    $('#b').click()
    await vi.advanceTimersByTimeAsync(100)
    expect(actions().map((action) => action.name)).toEqual(['Masked Element', 'Public'])
  })

  it('never sends what was typed into a field', async () => {
    const { events } = start('<label for="q">Search</label><input id="q" placeholder="Find products">')
    const input = $('#q') as HTMLInputElement
    input.value = 'jane@example.com'
    input.click()
    await vi.advanceTimersByTimeAsync(100)
    expect(events).toHaveLength(1)
    expect(JSON.stringify(events)).not.toContain('jane@example.com')
    expect(events[0]!.action).toMatchObject({ name: 'Search' })
  })

  it('reports one action, from the control, when a label is clicked', async () => {
    const { actions } = start('<label for="r">Remember me</label><input id="r" type="checkbox">')
    $('label').click()
    await vi.advanceTimersByTimeAsync(100)
    expect(actions()).toEqual([{ type: 'click', name: 'Remember me', target: 'input#r' }])
  })

  it('marks the 3rd click on the same control within 1 s as a rage click, then starts over', async () => {
    const { actions } = start('<button id="b"><i>Retry</i></button><button id="o">Other</button>')
    $('#b').click()
    await vi.advanceTimersByTimeAsync(400)
    $('#b i').click()
    await vi.advanceTimersByTimeAsync(400)
    $('#b').click()
    await vi.advanceTimersByTimeAsync(150)
    $('#b').click()
    await vi.advanceTimersByTimeAsync(150)
    expect(actions().map((action) => action.frustration)).toEqual([['dead_click'], ['dead_click'], ['rage_click', 'dead_click'], ['dead_click']])
  })

  it('needs the clicks within 1 s and on the same control', async () => {
    const { actions } = start('<button id="b">Retry</button><button id="o">Other</button>')
    $('#b').click()
    await vi.advanceTimersByTimeAsync(600)
    $('#b').click()
    await vi.advanceTimersByTimeAsync(600)
    $('#b').click()
    $('#o').click()
    $('#b').click()
    await vi.advanceTimersByTimeAsync(100)
    expect(actions().some((action) => (action.frustration as string[] | undefined)?.includes('rage_click'))).toBe(false)
  })

  it('is not dead when the DOM changes within 100 ms, and reports the time to that change', async () => {
    const { actions } = start('<button>Open</button><div id="panel"></div>')
    $('button').addEventListener('click', () => setTimeout(() => $('#panel').append('opened'), 30))
    $('button').click()
    await vi.advanceTimersByTimeAsync(100)
    expect(actions()).toEqual([{ type: 'click', name: 'Open', target: 'button', duration: 30 }])
  })

  it('is dead when the change comes after the window', async () => {
    const { actions } = start('<button>Open</button><div id="panel"></div>')
    $('button').addEventListener('click', () => setTimeout(() => $('#panel').setAttribute('class', 'open'), 150))
    $('button').click()
    await vi.advanceTimersByTimeAsync(200)
    expect(actions()[0]!.frustration).toEqual(['dead_click'])
  })

  it('is not dead when the URL changes', async () => {
    const { actions } = start('<button>Next page</button>')
    $('button').addEventListener('click', () => history.pushState(null, '', '/next'))
    $('button').click()
    await vi.advanceTimersByTimeAsync(100)
    expect(actions()[0]!.frustration).toBeUndefined()
  })

  it('judges only button-like controls: never links, text, fields or contenteditable', async () => {
    const { actions } = start(`
      <a href="/elsewhere">Link</a><p>Plain text</p><input id="i"><select><option>x</option></select>
      <div contenteditable="true"><button id="e">Bold</button></div><div role="button">Custom</div>`)
    for (const selector of ['a', 'p', '#i', 'select', '#e', '[role=button]']) $(selector).click()
    await vi.advanceTimersByTimeAsync(100)
    expect(actions().map((action) => [action.name, action.frustration])).toEqual([
      ['Link', undefined], ['Plain text', undefined], ['input', undefined], ['select', undefined], ['Bold', undefined], ['Custom', ['dead_click']],
    ])
  })

  it('marks an error emitted within 100 ms as an error click', async () => {
    const { sdk, actions } = start('<button id="a">Pay</button><button id="b">Later</button>')
    $('#a').addEventListener('click', () => {
      document.body.append('!')
      sdk.emit({ type: 'error', error: { message: 'boom' } })
    })
    $('#a').click()
    await vi.advanceTimersByTimeAsync(100)
    $('#b').click()
    await vi.advanceTimersByTimeAsync(150)
    sdk.emit({ type: 'error', error: { message: 'too late' } })
    expect(actions().map((action) => action.frustration)).toEqual([['error_click'], ['dead_click']])
  })

  it('sends submits at once, named by the submitter, and a click that submits is not dead', async () => {
    const { actions } = start('<form id="login" aria-label="Login"><input name="email" value="jane@example.com"><button>Sign in</button></form>')
    $('form').addEventListener('submit', (event) => event.preventDefault())
    $('button').click()
    expect(actions()).toEqual([{ type: 'submit', name: 'Sign in', target: 'form#login' }])
    await vi.advanceTimersByTimeAsync(100)
    expect(actions()[1]).toEqual({ type: 'click', name: 'Sign in', target: 'form#login>button' })
  })

  it('names a submit without submitter from the form, and ignores hidden forms', () => {
    const { actions } = start('<form id="f" aria-label="Newsletter"><input></form><form id="h" data-tacit-privacy="hidden"><button>x</button></form>')
    for (const id of ['f', 'h']) $(`#${id}`).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }))
    expect(actions()).toEqual([{ type: 'submit', name: 'Newsletter', target: 'form#f' }])
  })

  it('attributes a click to the view it happened in', async () => {
    const { sdk, events } = start('<button>Go</button>')
    $('button').addEventListener('click', () => sdk.startView('/next', 'route_change'))
    $('button').click()
    await vi.advanceTimersByTimeAsync(100)
    expect(events[0]!.view).toMatchObject({ id: 'view-0' })
  })

  it('sends pending clicks on page hide without judging them dead', () => {
    const { actions, hide } = start('<button>Leave</button>')
    $('button').click()
    hide()
    expect(actions()).toEqual([{ type: 'click', name: 'Leave', target: 'button' }])
    vi.advanceTimersByTime(200)
    expect(actions()).toHaveLength(1)
  })

  it('flushes pending clicks on stop, then removes every listener, observer and timer', () => {
    const { sdk, actions } = start('<button>Buy</button>')
    $('button').click()
    stop!()
    stop = undefined
    expect(actions()).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
    $('button').click()
    $('button').dispatchEvent(new Event('submit', { bubbles: true }))
    sdk.emit({ type: 'error', error: { message: 'x' } })
    vi.advanceTimersByTime(200)
    expect(actions()).toHaveLength(1)
  })

  it('leaves no timer behind while idle', async () => {
    start('<button>Buy</button>')
    expect(vi.getTimerCount()).toBe(0)
    $('button').click()
    expect(vi.getTimerCount()).toBe(1)
    await vi.advanceTimersByTimeAsync(100)
    expect(vi.getTimerCount()).toBe(0)
  })
})
