import type { ComponentChildren } from 'preact'
import { formatTime } from '../format.js'
import { Empty } from './Status.js'

/**
 * A table of records whose exact columns the dashboard need not know (audit entries, drop counts, alert
 * deliveries): one column per key, every value as text.
 */
export function RecordTable({ rows, empty, caption, actions }: { rows: Array<Record<string, unknown>>; empty: string; caption?: string; actions?: (row: Record<string, unknown>) => ComponentChildren }) {
  if (!Array.isArray(rows) || rows.length === 0) return <Empty>{empty}</Empty>
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))]
  return (
    <div class="scroll" tabIndex={0} role="region" aria-label={caption ?? empty}>
      <table>
        {caption && <caption class="visually-hidden">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c.replace(/_/g, ' ')}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={index}>
              {columns.map((c) => (
                <td key={c} class="wrap">
                  {cell(c, row[c])}
                </td>
              ))}
              {actions && <td>{actions(row)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function cell(column: string, value: unknown): string {
  if (value === null || value === undefined) return '–'
  if (typeof value === 'string' && /(_at|^at|^ts|time|^day)$/.test(column) && /^\d{4}-\d\d-\d\d/.test(value)) return formatTime(value)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}
