import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scriptTagPage } from '../support/sdkPages.js'
import { onPath, type StoredEvent } from '../support/startTacitForBrowser.js'
import { useBrowserSuite } from '../support/useBrowserSuite.js'

/** Typed into a form field: it must never reach Tacit, under any name. */
const TYPED = 'quokka-marmalade-zebra'

const BODY = `
<main>
  <section data-tacit-action-name="Checkout area"><button id="explicit" aria-label="Pay with card">Pay <b>now</b></button></section>
  <button id="aria" aria-label="Close dialog">× close</button>
  <button id="text" class="primary big">  Save
      the    draft  </button>
  <a id="link" href="/elsewhere" title="Help page">Read the help</a>
  <img id="logo" src="/pixel.png" alt="Company logo" width="40" height="40">
  <div data-tacit-privacy="mask">
    <button id="masked">Jane Doe's account</button>
    <button id="masked-named" data-tacit-action-name="Open account">Jane Doe</button>
  </div>
  <div data-tacit-privacy="hidden"><button id="hidden">Hidden secret</button></div>
  <form id="form"><label for="holder">Card holder</label> <input id="holder" name="holder"> <button id="send" type="submit">Send form</button></form>
  <button id="rage">Rage here</button>
  <button id="dead">Does nothing</button>
  <p id="out"></p>
</main>`

// The page's own behaviour: links and the form stay on the page; most buttons change the DOM (so they are
// not dead clicks); #dead does nothing at all.
const APP = `
document.addEventListener('click', (event) => {
  const target = event.target.closest('a, button')
  if (!target || target.id === 'dead') return
  if (target.matches('a')) event.preventDefault()
  document.getElementById('out').textContent = 'clicked ' + target.id + ' ' + Date.now()
})
document.addEventListener('submit', (event) => event.preventDefault())
`

const actions = (events: StoredEvent[]) => events.filter((event) => event.type === 'action')

describe('actions in Chromium', () => {
  const suite = useBrowserSuite()

  it('names clicks by precedence, masks and hides per element, flags rage and dead clicks, and never collects what is typed', async () => {
    const { site, tacit } = suite
    site.serve('/actions/app.js', APP, { type: 'text/javascript' })
    site.serve('/actions/page', scriptTagPage({ endpoint: tacit.url, token: tacit.token, body: BODY, head: '<script src="/actions/app.js" defer></script>' }))
    const page = await suite.open('/actions/page')
    await page.waitForLoadState('load')
    for (const id of ['explicit', 'aria', 'text', 'link', 'logo', 'masked', 'masked-named', 'hidden']) {
      await page.click(`#${id}`)
    }
    await page.fill('#holder', TYPED)
    await page.click('#holder')
    await page.click('#send')
    // Three clicks within a few milliseconds on one button: a rage click.
    await page.locator('#rage').click({ clickCount: 3 })
    await page.click('#dead')
    // The dead click is judged after 100 ms without any effect; leaving earlier would send it unjudged.
    await page.waitForTimeout(300)
    expect(await page.inputValue('#holder')).toBe(TYPED)
    await suite.leave(page)

    const events = await tacit.waitForEvents('the clicks of the actions page', (all) =>
      actions(onPath(all, site.origin, '/actions/page')).some((event) => event.action!.name === 'Does nothing'),
    )
    const clicks = actions(onPath(events, site.origin, '/actions/page'))
    const named = (name: string) => clicks.filter((event) => event.action!.name === name)

    // data-tacit-action-name on an ancestor beats aria-label and text; aria-label beats text; text is collapsed.
    expect(named('Checkout area')).toHaveLength(1)
    expect(named('Close dialog')).toHaveLength(1)
    expect(named('Save the draft')).toHaveLength(1)
    expect(named('Read the help')).toHaveLength(1)
    expect(named('Company logo')).toHaveLength(1)
    // Masked: the text is replaced, unless the site named the action itself.
    expect(named('Masked Element')).toHaveLength(1)
    expect(named('Open account')).toHaveLength(1)
    // A form field is named by its label, never by its value.
    expect(named('Card holder')).toHaveLength(1)
    expect(named('Send form').map((event) => event.action!.type).sort()).toEqual(['click', 'submit'])

    expect(named('Save the draft')[0]!.action).toMatchObject({ type: 'click', target: 'button#text' })
    expect(named('Checkout area')[0]!.action!.target).toMatch(/^button#explicit>b$|^button#explicit$/)
    expect(named('Masked Element')[0]!.action!.target).toBe('button#masked')

    // Hidden: no action at all, by name or by target.
    const serialized = JSON.stringify(clicks)
    expect(serialized).not.toContain('Hidden secret')
    expect(serialized).not.toContain('#hidden')
    expect(serialized).not.toContain("Jane Doe's account")

    const rage = named('Rage here')
    expect(rage).toHaveLength(3)
    expect(rage.filter((event) => event.action!.frustration?.includes('rage_click'))).toHaveLength(1)
    expect(named('Does nothing').map((event) => event.action!.frustration)).toEqual([['dead_click']])
    // Buttons that changed the page are not dead.
    expect(named('Save the draft')[0]!.action!.frustration).toBeUndefined()
    expect(named('Save the draft')[0]!.action!.duration).toBeGreaterThanOrEqual(0)

    // What was typed appears nowhere: not in the export, not in the database files.
    expect(JSON.stringify(await tacit.exportEvents())).not.toContain(TYPED)
    for (const file of ['tacit.db', 'tacit.db-wal']) {
      const path = join(tacit.dataDir, file)
      if (existsSync(path)) expect(readFileSync(path).includes(TYPED), file).toBe(false)
    }
  })
})
