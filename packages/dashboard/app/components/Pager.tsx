import { setQuery } from '../router.js'

/** Previous / Next for a list paged by `offset` in the URL, as the API's `next_offset` allows. */
export function Pager({ offset, pageSize, nextOffset }: { offset: number; pageSize: number; nextOffset: number | null }) {
  return (
    <nav class="pager" aria-label="Pages">
      {offset > 0 && (
        <button type="button" onClick={() => setQuery({ offset: String(Math.max(0, offset - pageSize)) })}>
          Previous
        </button>
      )}
      {nextOffset !== null && (
        <button type="button" onClick={() => setQuery({ offset: String(nextOffset) })}>
          Next
        </button>
      )}
    </nav>
  )
}
