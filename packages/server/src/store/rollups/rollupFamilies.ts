import type { RollupFamily } from '../AnalyticsStore.js'
import type { SliceFamily } from './rollupCells.js'

/** Which rollup tables, and which families of rollup_slices, each retention family covers; both adapters delete by them. */

export const FAMILY_TABLES: Record<RollupFamily, string[]> = {
  views: ['rollup_views', 'rollup_sources'],
  sessions: ['rollup_sessions'],
  resources: ['rollup_resources'],
  long_tasks: ['rollup_long_tasks'],
}
/** The rollup tables but rollup_slices: those of createRollupBuilder.ts's HourlyTable. */
export const HOURLY_TABLES = Object.values(FAMILY_TABLES).flat()
/** The families of rollup_slices each retention family covers. */
export const SLICE_FAMILIES: Record<RollupFamily, SliceFamily[]> = { views: ['views', 'sources'], sessions: ['sessions'], resources: ['resources'], long_tasks: ['long_tasks'] }
