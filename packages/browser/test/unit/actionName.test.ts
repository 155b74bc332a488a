// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { actionName, interactiveElement } from '../../src/privacy/actionName.js'

const $ = (selector: string) => document.querySelector(selector)!
const html = (markup: string) => {
  document.body.innerHTML = markup
}

describe('actionName', () => {
  it('uses the button or link text around the clicked node, whitespace collapsed', () => {
    html('<button>  Add\n  to <b>cart</b>  </button><a href="/p">Pricing <span>plans</span></a>')
    expect(actionName($('b'), 'mask-user-input')).toBe('Add to cart')
    expect(actionName($('span'), 'mask-user-input')).toBe('Pricing plans')
    expect(interactiveElement($('b'))).toBe($('button'))
  })

  it('caps names at 100 characters', () => {
    html(`<button>${'word '.repeat(50)}</button>`)
    const name = actionName($('button'), 'allow')
    expect(name).toHaveLength(100)
    expect(name.startsWith('word word')).toBe(true)
  })

  it('lets data-tacit-action-name on the element or an ancestor win, even under mask', () => {
    html('<div data-tacit-action-name="  Checkout   step 2 "><button aria-label="Pay">Pay now</button></div><button id="b" data-tacit-action-name="Own">Text</button>')
    expect(actionName($('button'), 'mask-user-input')).toBe('Checkout step 2')
    expect(actionName($('button'), 'mask')).toBe('Checkout step 2')
    expect(actionName($('#b'), 'allow')).toBe('Own')
  })

  it('masks every other name under mask', () => {
    html('<button aria-label="Delete account">Delete</button><input placeholder="Search">')
    expect(actionName($('button'), 'mask')).toBe('Masked Element')
    expect(actionName($('input'), 'mask')).toBe('Masked Element')
  })

  it('follows accessible-name order: aria-label, labels, alt, text, title, placeholder, tag', () => {
    html(`
      <button id="a" aria-label="Close dialog" title="Close">×</button>
      <button id="t" title="Tooltip">Visible</button>
      <button id="ti" title="Only a title"><svg></svg></button>
      <input id="p" placeholder="Search products" title="Search">
      <input id="ph" placeholder="Search products">
      <img id="i" alt="Logo" title="Home">
      <button id="img"><img alt="Cart"></button>
      <div id="empty"><span></span></div>`)
    expect(actionName($('#a'), 'allow')).toBe('Close dialog')
    expect(actionName($('#t'), 'allow')).toBe('Visible')
    expect(actionName($('#ti svg'), 'allow')).toBe('Only a title')
    expect(actionName($('#p'), 'allow')).toBe('Search')
    expect(actionName($('#ph'), 'mask-user-input')).toBe('Search products')
    expect(actionName($('#i'), 'allow')).toBe('Logo')
    expect(actionName($('#img img'), 'allow')).toBe('Cart')
    expect(actionName($('#empty span'), 'allow')).toBe('span')
  })

  it('names a form field by its associated label, wrapping or with for=', () => {
    html(`
      <label for="email">Email <em>address</em></label><input id="email" type="email">
      <label>Remember me <input id="remember" type="checkbox"></label>
      <label for="country">Country</label><select id="country"><option>France</option><option>Germany</option></select>`)
    expect(actionName($('#email'), 'mask-user-input')).toBe('Email address')
    expect(actionName($('#remember'), 'mask-user-input')).toBe('Remember me')
    expect(actionName($('#country'), 'allow')).toBe('Country')
  })

  it('never reads input values, textarea text or select options, at any level', () => {
    html(`
      <input id="text" value="jane@example.com">
      <textarea id="ta">my secret note</textarea>
      <label id="wrap">Notes <textarea>private text</textarea><select><option>Secret option</option></select></label>
      <div id="div">Total <input value="4111 1111 1111 1111"></div>`)
    const text = $('#text') as HTMLInputElement
    text.value = 'typed by the user'
    for (const level of ['allow', 'mask-user-input'] as const) {
      expect(actionName(text, level)).toBe('input')
      expect(actionName($('#ta'), level)).toBe('textarea')
      expect(actionName($('#wrap'), level)).toBe('Notes')
      expect(actionName($('#div'), level)).toBe('Total')
    }
  })

  it('uses the caption of input buttons (the value attribute the author wrote)', () => {
    html('<input type="submit" value="Sign in"><input id="b" type="button" value=" Next ">')
    expect(actionName($('input'), 'mask-user-input')).toBe('Sign in')
    expect(actionName($('#b'), 'mask-user-input')).toBe('Next')
  })

  it('leaves out text inside masked or hidden descendants and labels in masked regions', () => {
    html(`
      <button>Hello <span data-tacit-privacy="mask">Jane Doe</span><span data-tacit-privacy="hidden">secret</span></button>
      <div data-tacit-privacy="mask"><label for="f">Jane's card</label></div><input id="f" title="Card">`)
    expect(actionName($('button'), 'allow')).toBe('Hello')
    expect(actionName($('#f'), 'allow')).toBe('Card')
  })
})
