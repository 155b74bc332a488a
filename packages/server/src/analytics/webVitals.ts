import { VITAL_NAMES } from '../protocol/wireSchema.js'

export type VitalName = (typeof VITAL_NAMES)[number]

/**
 * Google's thresholds (https://web.dev/articles/vitals, "good" and "poor" boundaries, inclusive of good):
 * the rollups rate each value with them rather than trusting the `rating` a client sent.
 */
export const VITAL_THRESHOLDS: Record<VitalName, { good: number; poor: number }> = {
  LCP: { good: 2500, poor: 4000 },
  INP: { good: 200, poor: 500 },
  CLS: { good: 0.1, poor: 0.25 },
  FCP: { good: 1800, poor: 3000 },
  TTFB: { good: 800, poor: 1800 },
}

/** CLS is unitless and mostly below 1: it is stored × 1000 so the same buckets resolve it. */
export const VITAL_SCALE: Record<VitalName, number> = { LCP: 1, INP: 1, CLS: 1000, FCP: 1, TTFB: 1 }

export type VitalRating = 0 | 1 | 2

/** 0 good, 1 needs improvement, 2 poor. */
export function rateVital(name: VitalName, value: number): VitalRating {
  const t = VITAL_THRESHOLDS[name]
  return value <= t.good ? 0 : value <= t.poor ? 1 : 2
}
