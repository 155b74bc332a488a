// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest'
import { cssSelector } from '../../src/privacy/cssSelector.js'

const $ = (selector: string) => document.querySelector(selector)!

describe('cssSelector', () => {
  beforeEach(() => {
    document.body.innerHTML = ''
  })

  it('is the tag with the id, stopping at the first ancestor with an id', () => {
    document.body.innerHTML = '<main id="app"><section class="cart"><div><button id="buy">Buy</button><span class="a b c">x</span></div></section></main>'
    expect(cssSelector($('#buy'))).toBe('button#buy')
    expect(cssSelector($('span'))).toBe('main#app>section.cart>div>span.a.b')
  })

  it('keeps at most the element and 3 ancestors, and stops before body', () => {
    document.body.innerHTML = '<div class="l1"><div class="l2"><div class="l3"><div class="l4"><i class="icon">x</i></div></div></div></div>'
    expect(cssSelector($('i'))).toBe('div.l2>div.l3>div.l4>i.icon')
    document.body.innerHTML = '<p class="note">x</p>'
    expect(cssSelector($('p'))).toBe('p.note')
    expect(cssSelector(document.body)).toBe('body')
  })

  it('skips generated or digit-heavy ids and classes, and names that would need escaping', () => {
    document.body.innerHTML = '<div id="order-48213" class="css-1x2y3z hover:bg-red w-1/2 card col-md-6 extra"><b id=":r1:" class="ember123">x</b></div>'
    expect(cssSelector($('b'))).toBe('div.card.col-md-6>b')
  })

  it('never exceeds 256 characters', () => {
    const long = (n: number) => 'c' + String.fromCharCode(97 + n).repeat(39)
    document.body.innerHTML = `<section class="${long(0)} ${long(1)}"><section class="${long(2)} ${long(3)}"><section class="${long(4)} ${long(5)}"><section class="${long(6)} ${long(7)}">x</section></section></section></section>`
    const selector = cssSelector(document.querySelectorAll('section')[3]!)
    expect(selector.length).toBeLessThanOrEqual(256)
    expect(selector.endsWith(`section.${long(6)}.${long(7)}`)).toBe(true)
    expect(selector.split('>')).toHaveLength(2)
  })

  it('works for SVG elements', () => {
    document.body.innerHTML = '<button id="close"><svg class="icon"><path d="M0"></path></svg></button>'
    expect(cssSelector($('path'))).toBe('button#close>svg.icon>path')
  })
})
