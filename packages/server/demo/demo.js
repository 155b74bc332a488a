/* global document, window, history, location, performance, fetch */
// The demo page's own behaviour. A separate file, because the page's Content-Security-Policy allows no
// inline script. Tacit needs none of this: it only shows what the SDK picks up by itself.

const PAGES = {
  home: ['Home', 'A single-page app: the links above change the URL without loading a new page.'],
  products: ['Products', 'A second route: the SDK ended the previous view and started a new one.'],
  about: ['About', 'Going back with the browser’s back button (popstate) starts a view too.'],
}

function show(route) {
  const [title, text] = PAGES[route] || PAGES.home
  document.getElementById('page-title').textContent = title
  document.getElementById('page-text').textContent = text
  document.title = `${title} · Tacit demo`
}

function routeOf(url) {
  return new URL(url, location.href).searchParams.get('page') || 'home'
}

function on(id, type, listener) {
  document.getElementById(id).addEventListener(type, listener)
}

for (const link of document.querySelectorAll('a[data-route]')) {
  link.addEventListener('click', (event) => {
    event.preventDefault()
    history.pushState(null, '', link.href)
    show(link.dataset.route)
  })
}
window.addEventListener('popstate', () => show(routeOf(location.href)))
show(routeOf(location.href))

on('hello', 'click', () => (document.getElementById('health-result').textContent = 'Hello! That click is an action named “Say hello”.'))
on('buy', 'click', () => (document.getElementById('health-result').textContent = 'Its action is named “Add to cart”, from data-tacit-action-name.'))
on('health', 'click', async () => {
  const result = document.getElementById('health-result')
  const response = await fetch('/healthz')
  result.textContent = `GET /healthz answered ${response.status}: a resource event with its duration and status.`
})
on('busy', 'click', () => {
  const end = performance.now() + 200
  while (performance.now() < end) {
    // Busy on purpose: a long task.
  }
  document.getElementById('health-result').textContent = 'The page was frozen for 200 ms: a long_task event.'
})

on('newsletter', 'submit', (event) => {
  event.preventDefault()
  document.getElementById('newsletter-result').textContent = 'Not sent anywhere, and the address was not collected.'
  event.target.reset()
})

on('throw', 'click', () => {
  throw new Error('Demo: an uncaught error from a button')
})
on('handled', 'click', () => {
  try {
    JSON.parse('{ not json')
  } catch (error) {
    window.tacit.addError(error, { where: 'demo page' })
  }
})
on('reject', 'click', () => {
  Promise.reject(new Error('Demo: an unhandled promise rejection'))
})
