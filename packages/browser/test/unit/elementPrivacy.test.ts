// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { elementPrivacy } from '../../src/privacy/elementPrivacy.js'

const $ = (selector: string) => document.querySelector(selector)!

describe('elementPrivacy', () => {
  it('falls back to the init option when no element says anything', () => {
    document.body.innerHTML = '<div><button>x</button></div>'
    expect(elementPrivacy($('button'), 'mask-user-input')).toBe('mask-user-input')
    expect(elementPrivacy($('button'), 'mask')).toBe('mask')
  })

  it('is inherited by descendants, and the nearest allow or mask wins', () => {
    document.body.innerHTML = `
      <div data-tacit-privacy="mask">
        <p id="masked"><b>x</b></p>
        <div data-tacit-privacy="allow"><span id="allowed">y</span>
          <em data-tacit-privacy="mask" id="masked-again">z</em></div>
      </div>`
    expect(elementPrivacy($('#masked b'), 'allow')).toBe('mask')
    expect(elementPrivacy($('#allowed'), 'mask')).toBe('allow')
    expect(elementPrivacy($('#masked-again'), 'allow')).toBe('mask')
  })

  it('keeps a hidden region hidden whatever its descendants say', () => {
    document.body.innerHTML = '<div data-tacit-privacy="hidden"><div data-tacit-privacy="allow"><button>x</button></div></div>'
    expect(elementPrivacy($('button'), 'allow')).toBe('hidden')
    expect(elementPrivacy($('[data-tacit-privacy=hidden]'), 'allow')).toBe('hidden')
  })

  it('ignores unknown values', () => {
    document.body.innerHTML = '<div data-tacit-privacy="mask"><p data-tacit-privacy="nonsense"><i>x</i></p></div>'
    expect(elementPrivacy($('i'), 'allow')).toBe('mask')
  })
})
