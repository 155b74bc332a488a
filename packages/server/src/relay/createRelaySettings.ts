import type { AppSettings } from '../apps/appSettings.js'
import type { Clock } from '../clock.js'
import { UpstreamUnavailableError, type Upstream } from './createUpstream.js'

/** What the relay knows of an app: GET /api/v1/relay/settings (http/relayRoutes.ts), checked here. */
export interface RelayAppSettings {
  appId: number
  origins: string[]
  geo: AppSettings['privacy']['geo']
  allowUserDetails: boolean
  filters: Pick<AppSettings['filters'], 'blockCountries' | 'ipAllow' | 'ipDeny'>
  scrub: AppSettings['scrub']
}

export type SettingsAnswer = { ok: true; settings: RelayAppSettings } | { ok: false; reason: 'unknown_token' | 'relay_refused' }

export interface RelaySettings {
  /**
   * The app's settings for a client token: from the cache while fresh, else fetched from the upstream. When the
   * upstream cannot be reached, the last answer stands in (stale settings beat refusing the site's visitors);
   * with none, it throws UpstreamUnavailableError.
   */
  forToken(token: string): Promise<SettingsAnswer>
}

const DEFAULT_MAX_AGE_MS = 60_000
/** Tokens remembered at most: a relay serves a handful of sites; random tokens from a prober must not grow it. */
const MAX_TOKENS = 1000

export function createRelaySettings(deps: { upstream: Upstream; relayKey: string; clock: Clock }): RelaySettings {
  const cache = new Map<string, { answer: SettingsAnswer; until: number }>()
  const pending = new Map<string, Promise<SettingsAnswer>>()

  async function fetchAnswer(token: string): Promise<{ answer: SettingsAnswer; maxAgeMs: number }> {
    const answer = await deps.upstream.send({
      method: 'GET',
      path: '/api/v1/relay/settings',
      headers: { authorization: `Bearer ${deps.relayKey}`, 'x-tacit-token': token, accept: 'application/json' },
    })
    if (answer.status === 404 || answer.status === 400) return { answer: { ok: false, reason: 'unknown_token' }, maxAgeMs: DEFAULT_MAX_AGE_MS }
    // The relay's own key is wrong, revoked or for another app: said loudly in the relay's log by the caller.
    if (answer.status === 401 || answer.status === 403) return { answer: { ok: false, reason: 'relay_refused' }, maxAgeMs: DEFAULT_MAX_AGE_MS }
    if (answer.status !== 200) throw new UpstreamUnavailableError(`the upstream answered ${answer.status} for the app's settings`)
    let body: unknown
    try {
      body = JSON.parse(answer.body.toString('utf8'))
    } catch {
      throw new UpstreamUnavailableError('the upstream answered the settings with something that is not JSON')
    }
    const settings = parseSettings(body)
    if (!settings) throw new UpstreamUnavailableError('the upstream answered settings this relay cannot read (is it a Tacit server of the same version?)')
    const maxAge = (body as { max_age_seconds?: unknown }).max_age_seconds
    return { answer: { ok: true, settings }, maxAgeMs: typeof maxAge === 'number' && maxAge >= 0 && maxAge <= 3600 ? maxAge * 1000 : DEFAULT_MAX_AGE_MS }
  }

  function refresh(token: string): Promise<SettingsAnswer> {
    let running = pending.get(token)
    if (!running) {
      running = fetchAnswer(token)
        .then(({ answer, maxAgeMs }) => {
          if (!cache.has(token) && cache.size >= MAX_TOKENS) cache.delete(cache.keys().next().value as string)
          cache.set(token, { answer, until: deps.clock.now() + maxAgeMs })
          return answer
        })
        .finally(() => pending.delete(token))
      pending.set(token, running)
    }
    return running
  }

  return {
    async forToken(token) {
      const cached = cache.get(token)
      if (cached && cached.until > deps.clock.now()) return cached.answer
      try {
        return await refresh(token)
      } catch (error) {
        if (cached && error instanceof UpstreamUnavailableError) return cached.answer
        throw error
      }
    },
  }
}

function parseSettings(body: unknown): RelayAppSettings | undefined {
  if (!isObject(body) || !isObject(body.filters) || !isObject(body.scrub)) return undefined
  const { app_id, origins, geo, allow_user_details, filters, scrub } = body
  if (typeof app_id !== 'number' || !Number.isSafeInteger(app_id)) return undefined
  if (!isStrings(origins) || (geo !== 'off' && geo !== 'country' && geo !== 'city') || typeof allow_user_details !== 'boolean') return undefined
  if (!isStrings(filters.block_countries) || !isStrings(filters.ip_allow) || !isStrings(filters.ip_deny)) return undefined
  const { patterns, sensitive_keys, query_allow_list, path_rules, template_ids } = scrub
  const patternsOk = Array.isArray(patterns) && patterns.every((p) => isObject(p) && typeof p.name === 'string' && typeof p.regex === 'string')
  if (!patternsOk || !isStrings(sensitive_keys) || !(query_allow_list === null || isStrings(query_allow_list)) || !isStrings(path_rules) || typeof template_ids !== 'boolean') {
    return undefined
  }
  return {
    appId: app_id,
    origins,
    geo,
    allowUserDetails: allow_user_details,
    filters: { blockCountries: filters.block_countries, ipAllow: filters.ip_allow, ipDeny: filters.ip_deny },
    scrub: { patterns: patterns as AppSettings['scrub']['patterns'], sensitiveKeys: sensitive_keys, queryAllowList: query_allow_list, pathRules: path_rules, templateIds: template_ids },
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}
