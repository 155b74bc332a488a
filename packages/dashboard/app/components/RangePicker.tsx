import { useState } from 'preact/hooks'
import { activeFilters, FILTER_LABELS, RANGES } from '../filters.js'
import { setQuery } from '../router.js'

/** The time range (1 h / 24 h / 7 d / 30 d / custom) and the active drill-down filters, each removable. */
export function RangePicker({ query }: { query: URLSearchParams }) {
  const range = query.get('range') ?? '24h'
  const [from, setFrom] = useState(query.get('from') ?? '')
  const [to, setTo] = useState(query.get('to') ?? '')
  const filters = activeFilters(query)
  return (
    <div class="toolbar">
      <fieldset class="segmented">
        <legend class="visually-hidden">Time range</legend>
        {RANGES.map((r) => (
          <button type="button" key={r.key} aria-pressed={range === r.key} onClick={() => setQuery({ range: r.key, from: undefined, to: undefined })}>
            {r.label}
          </button>
        ))}
        <button type="button" aria-pressed={range === 'custom'} onClick={() => setQuery({ range: 'custom' })}>
          Custom
        </button>
      </fieldset>
      {range === 'custom' && (
        <form
          class="custom-range"
          onSubmit={(event) => {
            event.preventDefault()
            setQuery({ range: 'custom', from, to })
          }}
        >
          <label>
            From <input type="datetime-local" value={from} required onInput={(e) => setFrom(e.currentTarget.value)} />
          </label>
          <label>
            To <input type="datetime-local" value={to} required onInput={(e) => setTo(e.currentTarget.value)} />
          </label>
          <button type="submit">Apply</button>
        </form>
      )}
      {filters.length > 0 && (
        <ul class="chips" aria-label="Active filters">
          {filters.map(([key, value]) => (
            <li key={key}>
              <span>
                {FILTER_LABELS[key]}: {value}
              </span>
              <button type="button" aria-label={`Remove filter ${FILTER_LABELS[key]} ${value}`} onClick={() => setQuery({ [key]: undefined })}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
