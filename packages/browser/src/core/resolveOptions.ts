import type { ResolvedOptions, TacitOptions } from './types.js'

/**
 * Options with the posting URL worked out, or undefined when the SDK cannot send anywhere (no token with an
 * endpoint, and no proxy): the SDK then does nothing rather than throw into the page. `track*` options are
 * read where they are used (`=== false` turns one off), which keeps this small.
 */
export function resolveOptions(o: TacitOptions): ResolvedOptions | undefined {
  if (!o || !(o.proxy || (o.endpoint && o.token))) return
  const token = o.token ? 'token=' + encodeURIComponent(o.token) : ''
  // The proxy may hold the real token itself (an authentication proxy); ours is passed along when there is one.
  const url = o.proxy ? o.proxy + (token && (o.proxy.includes('?') ? '&' : '?') + token) : o.endpoint!.replace(/\/+$/, '') + '/api/v1/ingest?' + token
  const rate = Number(o.sampleRate ?? 100)
  return {
    ...o,
    url,
    sampleRate: rate >= 0 && rate <= 100 ? rate : 100,
    privacy: o.privacy === 'allow' || o.privacy === 'mask' ? o.privacy : 'mask-user-input',
    beforeSend: typeof o.beforeSend == 'function' ? o.beforeSend : undefined,
  }
}
