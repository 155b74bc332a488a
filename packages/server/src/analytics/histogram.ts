/**
 * Mergeable latency histograms for the rollups (docs/ROLLUPS.md): fixed log-spaced buckets, so the histograms
 * of any hours, days, pages or countries merge by adding bucket counts, and a percentile of the merge is the
 * percentile of the underlying values to within HISTOGRAM_RELATIVE_ERROR. Stored sparse: bucket index → count.
 */
export type Histogram = Record<string, number>

/** Each bucket's upper bound is GROWTH times its lower bound. */
const GROWTH = 1.05
const LOG_GROWTH = Math.log(GROWTH)

/**
 * A value is reported as the geometric middle of its bucket, so it is off by at most √GROWTH − 1 ≈ 2.47 %
 * of itself (values under 1 unit share bucket 0, reported as 0).
 */
export const HISTOGRAM_RELATIVE_ERROR = Math.sqrt(GROWTH) - 1

/** Bucket 0 holds values below 1; bucket b ≥ 1 holds (GROWTH^(b−1), GROWTH^b]. */
export function bucketOf(value: number): number {
  if (!(value >= 1)) return 0
  // The epsilon keeps exact powers of GROWTH (and 1 itself) in the bucket they bound despite rounding.
  return Math.max(1, Math.ceil(Math.log(value) / LOG_GROWTH - 1e-9))
}

/** The value reported for a bucket: the geometric middle of its bounds. */
export function bucketValue(bucket: number): number {
  return bucket <= 0 ? 0 : Math.pow(GROWTH, bucket - 0.5)
}

/** The upper bound of a bucket (the `le` of the API's histograms). */
export function bucketUpperBound(bucket: number): number {
  return bucket <= 0 ? 1 : Math.pow(GROWTH, bucket)
}

export function addToHistogram(histogram: Histogram, value: number, count = 1): void {
  const key = String(bucketOf(value))
  histogram[key] = (histogram[key] ?? 0) + count
}

export function mergeHistogram(into: Histogram, from: Histogram): void {
  for (const key in from) into[key] = (into[key] ?? 0) + from[key]!
}

export function histogramCount(histogram: Histogram): number {
  let n = 0
  for (const key in histogram) n += histogram[key]!
  return n
}

/**
 * The nearest-rank percentile (`q` in 0..1) of the merged values, as its bucket's value; null when empty.
 * `scale` undoes the scaling a metric was stored with (CLS is stored × 1000 to use the same buckets).
 */
export function percentile(histogram: Histogram, q: number, scale = 1): number | null {
  const buckets = Object.keys(histogram).map(Number).sort((a, b) => a - b)
  let total = 0
  for (const b of buckets) total += histogram[String(b)]!
  if (total === 0) return null
  const rank = Math.max(1, Math.ceil(q * total))
  let seen = 0
  for (const b of buckets) {
    seen += histogram[String(b)]!
    if (seen >= rank) return bucketValue(b) / scale
  }
  return null
}

/** Buckets in order as `{le, count}`, `le` in the metric's own unit. */
export function histogramBuckets(histogram: Histogram, scale = 1): Array<{ le: number; count: number }> {
  return Object.keys(histogram)
    .map(Number)
    .sort((a, b) => a - b)
    .map((b) => ({ le: bucketUpperBound(b) / scale, count: histogram[String(b)]! }))
}
