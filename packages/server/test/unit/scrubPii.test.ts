import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/apps/appSettings.js'
import type { RequestContext } from '../../src/pipeline/runPipeline.js'
import { scrubPii } from '../../src/pipeline/stages/scrubPii.js'
import type { StoredEvent } from '../../src/pipeline/storedEvent.js'
import { WIRE_TYPES, type WireType } from '../../src/protocol/wireSchema.js'
import { FULL_EVENTS } from './wireSamples.js'

const RECEIVED_AT = Date.UTC(2024, 4, 1, 12)
const EMAIL = 'planted.person@example.org'

function request(scrub = {}): RequestContext {
  return { appId: 1, settings: resolveSettings({ scrub }), receivedAt: RECEIVED_AT, ip: '203.0.113.9', userAgent: undefined, optOut: false, derived: {} }
}

function stored(type: WireType): StoredEvent {
  return { ...structuredClone(FULL_EVENTS[type]), ts: RECEIVED_AT, received_at: RECEIVED_AT } as StoredEvent
}

/** Every string field the stage must cover, per event type, as paths into the event. */
const COMMON_FIELDS = [['view', 'id'], ['view', 'url'], ['view', 'referrer'], ['view', 'name'], ['service'], ['env'], ['release']]
const TYPE_FIELDS: Record<WireType, string[][]> = {
  view: [],
  action: [['action', 'name'], ['action', 'target']],
  error: [['error', 'message'], ['error', 'type'], ['error', 'stack'], ['error', 'fingerprint']],
  resource: [['resource', 'url'], ['resource', 'method']],
  long_task: [['long_task', 'script_url'], ['long_task', 'script_function'], ['long_task', 'invoker'], ['long_task', 'invoker_type']],
  vital: [['vital', 'target']],
  report: [['report', 'type']],
  custom: [['custom', 'name']],
}

function setPath(target: Record<string, unknown>, path: string[], value: string) {
  let node = target
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>
  node[path.at(-1)!] = value
}

describe('scrubPii stage', () => {
  for (const type of WIRE_TYPES) {
    it(`leaves no planted value in any stored string of a ${type} event`, () => {
      const event = stored(type)
      for (const path of [...COMMON_FIELDS, ...TYPE_FIELDS[type]]) setPath(event as unknown as Record<string, unknown>, path, `x ${EMAIL} y`)
      event.context = { [EMAIL]: 'k', note: `for ${EMAIL}`, deep: { list: [`${EMAIL}`] }, password: 'hunter2' }
      if (event.type === 'report') event.report.body = { documentURL: `https://x.com/?email=${EMAIL}`, sample: EMAIL }
      expect(scrubPii.run(event, request())).toBeUndefined()
      const serialized = JSON.stringify(event)
      expect(serialized).not.toContain(EMAIL)
      expect(serialized).not.toContain('hunter2')
      expect(serialized).toContain('[email]')
    })

    it(`keeps a clean ${type} event byte-identical`, () => {
      const event = stored(type)
      const before = JSON.stringify(event)
      // The samples carry `usr`, whose name is personal by definition: this app keeps user details.
      const context = request()
      context.settings.privacy.allowUserDetails = true
      scrubPii.run(event, context)
      expect(JSON.stringify(event)).toBe(before)
    })
  }

  it('uses URL rules for URLs and the app settings of the request', () => {
    const event = stored('resource')
    if (event.type !== 'resource' || !event.view) throw new Error('sample changed')
    event.view.url = 'https://shop.example.com/users/jane/settings?token=abc&q=x'
    event.resource.url = 'https://api.example.com/orders/123?utm=1'
    scrubPii.run(event, request({ pathRules: ['/users/*/settings'], templateIds: true, queryAllowList: ['utm'] }))
    expect(event.view.url).toBe('https://shop.example.com/users/[redacted]/settings?token=[secret]&q=[redacted]')
    expect(event.resource.url).toBe('https://api.example.com/orders/:id?utm=1')
  })

  it('scrubs a long task script URL and a URL invoker with the URL rules', () => {
    const event = stored('long_task')
    if (event.type !== 'long_task') throw new Error('sample changed')
    event.long_task.script_url = 'https://shop.example.com/users/42/app.js?session=abc'
    event.long_task.invoker = 'https://shop.example.com/users/42/app.js?token=abc'
    scrubPii.run(event, request({ templateIds: true }))
    expect(event.long_task.script_url).toBe('https://shop.example.com/users/:id/app.js?session=[secret]')
    expect(event.long_task.invoker).toBe('https://shop.example.com/users/:id/app.js?token=[secret]')
  })

  it('keeps stack frames intact while scrubbing the message in them', () => {
    const event = stored('error')
    if (event.type !== 'error') throw new Error('sample changed')
    event.error.stack = `Error: no user ${EMAIL}\n    at checkout (https://shop.example.com/app.js:1:200)\n    at render@https://shop.example.com/app.js:3:14`
    scrubPii.run(event, request())
    expect(event.error.stack).toBe('Error: no user [email]\n    at checkout (https://shop.example.com/app.js:1:200)\n    at render@https://shop.example.com/app.js:3:14')
  })
})

describe('scrubPii on user identity the app allowed', () => {
  const withUser = (allowUserDetails: boolean) => {
    const event = { ...stored('custom'), usr: { id: 'u-42', name: 'Greta Lindqvist', email: EMAIL } } as StoredEvent
    const context = request()
    context.settings = resolveSettings({ privacy: { allowUserIdentity: true, allowUserDetails } })
    scrubPii.run(event, context)
    return event.usr
  }

  it('keeps the id but scrubs the name and email unless allow_user_details is on', () => {
    expect(withUser(false)).toEqual({ id: 'u-42', name: '[name]', email: '[email]' })
    expect(withUser(true)).toEqual({ id: 'u-42', name: 'Greta Lindqvist', email: EMAIL })
  })
})
