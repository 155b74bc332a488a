import { init } from './index.js'

/**
 * The script-tag build: `<script src="…/tacit.js" data-token="tc_…" data-endpoint="https://tacit.example">`.
 * Options come from the tag's data attributes; the API is exposed as `window.tacit`.
 */
const tag = document.currentScript as HTMLScriptElement | null
const data = tag?.dataset ?? {}
const flag = (value: string | undefined) => (value === undefined ? undefined : value !== 'false')
;(window as unknown as { tacit: unknown }).tacit = init({
  token: data.token,
  endpoint: data.endpoint,
  proxy: data.proxy,
  service: data.service,
  env: data.env,
  release: data.release,
  sampleRate: data.sampleRate === undefined ? undefined : Number(data.sampleRate),
  privacy: data.privacy as 'allow' | 'mask-user-input' | 'mask' | undefined,
  trackingConsent: data.trackingConsent as 'granted' | 'not-granted' | undefined,
  trackViews: flag(data.trackViews),
  trackActions: flag(data.trackActions),
  trackErrors: flag(data.trackErrors),
  trackResources: flag(data.trackResources),
  trackLongTasks: flag(data.trackLongTasks),
  trackVitals: flag(data.trackVitals),
  trackReports: flag(data.trackReports),
})
