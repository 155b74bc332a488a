import type { WireType } from '../../src/protocol/wireSchema.js'

/**
 * One minimal and one complete valid event per wire type, shared by the decoder and the published
 * schema tests so both are held to the same examples. Every value is within its cap, so a decoded
 * event equals its sample.
 */

export const MINIMAL_EVENTS: Record<WireType, Record<string, unknown>> = {
  view: { type: 'view', view: { id: 'v-1', url: 'https://shop.example.com/' } },
  action: { type: 'action', action: { type: 'click', name: 'Add to cart' } },
  error: { type: 'error', error: { message: 'x is not a function' } },
  resource: { type: 'resource', resource: { url: 'https://cdn.example.com/app.js', duration: 12.5 } },
  long_task: { type: 'long_task', long_task: { duration: 83 } },
  vital: { type: 'vital', vital: { name: 'LCP', value: 1234.5 } },
  report: { type: 'report', report: { type: 'deprecation', body: {} } },
  custom: { type: 'custom', custom: { name: 'signup' } },
}

const common = {
  ts: 1_700_000_000_000,
  view: { id: 'v-1', url: 'https://shop.example.com/cart', referrer: 'https://shop.example.com/', name: '/cart' },
  service: 'shop-web',
  env: 'production',
  release: '2024.05.1',
  context: { plan: 'pro', flags: ['a', 'b'], nested: { n: 1, ok: true, none: null } },
  usr: { id: 'u-42', name: 'Ada', email: 'ada@example.com' },
}

export const FULL_EVENTS: Record<WireType, Record<string, unknown>> = {
  view: {
    type: 'view',
    ...common,
    view: {
      id: 'v-1',
      url: 'https://shop.example.com/cart',
      referrer: 'https://shop.example.com/',
      name: '/cart',
      loading_type: 'initial_load',
      version: 3,
      time_spent: 5000,
      first_byte: 120.5,
      dom_interactive: 400,
      dom_content_loaded: 450,
      dom_complete: 900,
      load_event: 950,
      action_count: 2,
      error_count: 1,
      resource_count: 14,
      long_task_count: 0,
    },
  },
  action: {
    type: 'action',
    ...common,
    action: {
      type: 'click',
      name: 'Add to cart',
      frustration: ['rage_click', 'dead_click', 'error_click'],
      duration: 40,
      target: 'main#cart>form.checkout>button.add.primary',
    },
  },
  error: {
    type: 'error',
    ...common,
    error: {
      message: 'x is not a function',
      type: 'TypeError',
      stack: 'TypeError: x is not a function\n    at checkout (https://shop.example.com/app.js:1:200)',
      handled: false,
      source: 'source',
      fingerprint: 'checkout-total',
    },
  },
  resource: {
    type: 'resource',
    ...common,
    resource: {
      url: 'https://api.example.com/cart',
      duration: 80,
      type: 'fetch',
      method: 'POST',
      status_code: 201,
      size: 512,
      transfer_size: 900,
      render_blocking: false,
    },
  },
  long_task: {
    type: 'long_task',
    ...common,
    long_task: {
      duration: 120,
      type: 'long-animation-frame',
      blocking_duration: 70,
      script_url: 'https://shop.example.com/app.js',
      script_function: 'renderCart',
      invoker: 'BUTTON#checkout.onclick',
      invoker_type: 'event-listener',
    },
  },
  vital: { type: 'vital', ...common, vital: { name: 'CLS', value: 0.12, rating: 'needs-improvement', target: 'div.banner>img' } },
  report: {
    type: 'report',
    ...common,
    report: { type: 'csp-violation', body: { blockedURL: 'https://evil.example.net/x.js', disposition: 'enforce', lineNumber: 3 } },
  },
  custom: { type: 'custom', ...common, custom: { name: 'signup' } },
}
