/**
 * An id or class worth putting in a selector: a plain CSS identifier (so nothing needs escaping) of at most
 * 40 characters with fewer than 3 digits. The digit rule drops generated names (`css-1x2y3z`, `ember123`,
 * `:r1:` fails the identifier test) and ids carrying record numbers (`order-48213`), which group badly and
 * may be personal; Tailwind-style `hover:…` or `w-1/2` fail the identifier test too.
 */
const usable = (name: string) => /^[a-z_][\w-]{0,39}$/i.test(name) && !/(\d\D*){3}/.test(name)

/**
 * A short selector naming an element for humans and grouping, not for querying back: the element and at
 * most 3 ancestors, each as `tag#id` or `tag.class1.class2` (the first 2 usable classes), joined by `>`.
 * It stops early at an ancestor with a usable id (ids are unique, so more ancestors add nothing) and before
 * `body`; it never exceeds the wire cap of 256 characters.
 */
export function cssSelector(el: Element): string {
  let selector = ''
  for (let node: Element | null = el, depth = 0; node && depth < 4 && !(depth && /^(body|html)$/.test(node.localName)); node = node.parentElement, depth++) {
    const id = node.id
    const part = node.localName + (id && usable(id) ? '#' + id : [...node.classList].filter(usable).slice(0, 2).map((c) => '.' + c).join(''))
    if (selector && part.length + selector.length >= 256) break
    selector = selector ? part + '>' + selector : part
    if (part.includes('#')) break
  }
  return selector.slice(0, 256)
}
