import { createScrubber } from '../../privacy/scrub/createScrubber.js'
import type { FreeForm } from '../../protocol/wireSchema.js'
import type { Stage } from '../runPipeline.js'

/**
 * DESIGN.md P4: every string the event will store passes the scrubber before it is stored or fingerprinted,
 * so personal data can neither be kept nor split or name an issue. URLs get the URL rules (query
 * parameters, path rules, id templates); everything else the text rules; free-form objects both, on keys
 * and values. The event is changed in place and never dropped: a scrubbed event is still worth keeping.
 */
export const scrubPii: Stage = {
  name: 'scrubPii',
  run(event, request) {
    const scrub = createScrubber(request.settings.scrub)
    if (event.view) {
      const view = event.view
      view.id = scrub.text(view.id)
      view.url = scrub.url(view.url)
      if (view.referrer !== undefined) view.referrer = scrub.url(view.referrer)
      if (view.name !== undefined) view.name = scrub.text(view.name)
    }
    if (event.service !== undefined) event.service = scrub.text(event.service)
    if (event.env !== undefined) event.env = scrub.text(event.env)
    if (event.release !== undefined) event.release = scrub.text(event.release)
    if (event.context !== undefined) event.context = scrub.value(event.context) as FreeForm
    // `usr` is here only when the app allows user identity (dropUserIdentity runs first). Its id is the
    // site's own handle and is kept; the name and email are personal data, kept only with allow_user_details.
    if (event.usr !== undefined && !request.settings.privacy.allowUserDetails) {
      if (event.usr.name !== undefined) event.usr.name = '[name]'
      if (event.usr.email !== undefined) event.usr.email = scrub.text(event.usr.email)
    }
    switch (event.type) {
      case 'error':
        event.error.message = scrub.text(event.error.message)
        if (event.error.type !== undefined) event.error.type = scrub.text(event.error.type)
        if (event.error.stack !== undefined) event.error.stack = scrub.text(event.error.stack)
        if (event.error.fingerprint !== undefined) event.error.fingerprint = scrub.text(event.error.fingerprint)
        break
      case 'action':
        event.action.name = scrub.text(event.action.name)
        // Selectors carry the site's ids and class names, which can hold an email or an account number.
        if (event.action.target !== undefined) event.action.target = scrub.text(event.action.target)
        break
      case 'resource':
        event.resource.url = scrub.url(event.resource.url)
        if (event.resource.method !== undefined) event.resource.method = scrub.text(event.resource.method)
        break
      case 'report':
        event.report.type = scrub.text(event.report.type)
        event.report.body = scrub.value(event.report.body) as FreeForm
        break
      case 'custom':
        event.custom.name = scrub.text(event.custom.name)
        break
      case 'long_task': {
        const task = event.long_task
        if (task.script_url !== undefined) task.script_url = scrub.url(task.script_url)
        if (task.script_function !== undefined) task.script_function = scrub.text(task.script_function)
        // The invoker of a classic script is the script's URL; of an event listener, a selector-like name.
        if (task.invoker !== undefined) task.invoker = scrub.value(task.invoker) as string
        if (task.invoker_type !== undefined) task.invoker_type = scrub.text(task.invoker_type)
        break
      }
      case 'vital':
        if (event.vital.target !== undefined) event.vital.target = scrub.text(event.vital.target)
        break
      case 'view':
        // Only numbers and enums beyond the common fields above.
        break
    }
    return undefined
  },
}
