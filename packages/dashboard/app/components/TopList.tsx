import type { FilterKey } from '../filters.js'
import { formatCount } from '../format.js'
import { setQuery } from '../router.js'
import { Empty } from './Status.js'

export interface TopRow {
  /** null when the events did not say (no country looked up, say): shown, but not a filter. */
  key: string | null
  value: number
}

/**
 * A ranked list with bars. When `filter` is given, each key is a button that adds that filter to every panel.
 * Keys are event data: rendered as text only.
 */
export function TopList({ title, rows, unit, filter }: { title: string; rows: TopRow[]; unit: string; filter?: FilterKey }) {
  const max = Math.max(1, ...rows.map((r) => r.value))
  return (
    <section class="panel toplist" aria-label={title}>
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <Empty>No data in this range.</Empty>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{title}</th>
              <th scope="col" class="num">
                {unit}
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.key ?? ''}>
                <td>
                  <span class="bar" ref={(el) => el?.style.setProperty('--share', String(row.value / max))} />
                  {filter && row.key ? (
                    <button type="button" class="linklike" title={`Show only ${row.key}`} onClick={() => setQuery({ [filter]: row.key ?? undefined })}>
                      {row.key}
                    </button>
                  ) : (
                    <span class={row.key ? undefined : 'muted'}>{row.key || 'unknown'}</span>
                  )}
                </td>
                <td class="num">{formatCount(row.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

export function Kpi({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div class="kpi">
      <dt>{label}</dt>
      <dd>
        {value}
        {hint && <span class="kpi-hint">{hint}</span>}
      </dd>
    </div>
  )
}
