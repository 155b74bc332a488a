import { describe, expect, it } from 'vitest'
import { pagePath, referrerDomain, resourceUrl, utmCampaign } from '../../src/analytics/eventDimensions.js'
import { addToHistogram, bucketOf, bucketUpperBound, HISTOGRAM_RELATIVE_ERROR, histogramBuckets, mergeHistogram, percentile, type Histogram } from '../../src/analytics/histogram.js'
import { createStepPacer } from '../../src/analytics/createStepPacer.js'
import { ROLLUP_SHARE, startRollupJob } from '../../src/analytics/startRollupJob.js'
import { rateVital } from '../../src/analytics/webVitals.js'

describe('histogram', () => {
  it('puts every value in the bucket whose bounds hold it, and reports it within the stated error', () => {
    for (const value of [1, 1.04, 1.05, 2, 99.9, 100, 2500, 2500.01, 123_456.7, 9e6]) {
      const b = bucketOf(value)
      expect(value).toBeLessThanOrEqual(bucketUpperBound(b) * (1 + 1e-12))
      expect(value).toBeGreaterThan(bucketUpperBound(b - 1) * (1 - 1e-12))
      const h: Histogram = {}
      addToHistogram(h, value)
      expect(Math.abs(percentile(h, 0.5)! - value) / value).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR + 1e-12)
    }
    expect(HISTOGRAM_RELATIVE_ERROR).toBeCloseTo(0.0247, 4)
  })

  it('values under 1 share bucket 0, reported as 0; an empty histogram has no percentile', () => {
    const h: Histogram = {}
    for (const v of [0, 0.2, 0.99, -5, Number.NaN]) addToHistogram(h, v)
    expect(h).toEqual({ 0: 5 })
    expect(percentile(h, 0.75)).toBe(0)
    expect(percentile({}, 0.5)).toBeNull()
  })

  it('merging histograms gives the percentiles of all their values together (nearest rank)', () => {
    const a: Histogram = {}
    const b: Histogram = {}
    const all: Histogram = {}
    for (let i = 1; i <= 1000; i++) {
      addToHistogram(i % 3 ? a : b, i * 7)
      addToHistogram(all, i * 7)
    }
    const merged: Histogram = {}
    mergeHistogram(merged, a)
    mergeHistogram(merged, b)
    expect(merged).toEqual(all)
    for (const q of [0.5, 0.75, 0.9]) {
      const exact = Math.ceil(q * 1000) * 7
      expect(Math.abs(percentile(merged, q)! - exact) / exact).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR)
    }
    expect(histogramBuckets(merged).reduce((n, bucket) => n + bucket.count, 0)).toBe(1000)
    // CLS is stored × 1000: the scale brings it back.
    const cls: Histogram = {}
    addToHistogram(cls, 0.12 * 1000)
    expect(percentile(cls, 0.5, 1000)).toBeCloseTo(0.12, 2)
  })

  it("rates vitals by Google's thresholds, good inclusive", () => {
    expect([rateVital('LCP', 2500), rateVital('LCP', 2501), rateVital('LCP', 4001)]).toEqual([0, 1, 2])
    expect([rateVital('CLS', 0.1), rateVital('CLS', 0.25), rateVital('CLS', 0.26)]).toEqual([0, 1, 2])
    expect([rateVital('INP', 200), rateVital('INP', 500), rateVital('INP', 501)]).toEqual([0, 1, 2])
  })
})

describe('eventDimensions', () => {
  it('keeps a path without query or fragment', () => {
    expect(pagePath('https://shop.example/cart?id=1&token=[token]#top')).toBe('/cart')
    expect(pagePath('/search?q=shoes')).toBe('/search')
    expect(pagePath('not a url')).toBe('')
    // A host the scrubber replaced ([ip] is no valid host for the URL parser): the path is still read.
    expect(pagePath('http://[ip]:8089/demo?x=1#y')).toBe('/demo')
    expect(pagePath('http://[ip]')).toBe('/')
    expect(pagePath(undefined)).toBe('')
    expect(pagePath(`https://x.example/${'a'.repeat(500)}`)).toHaveLength(200)
  })

  it('keeps only another site’s host as referrer', () => {
    expect(referrerDomain('https://www.google.com/search?q=private', 'https://shop.example/')).toBe('www.google.com')
    expect(referrerDomain('https://shop.example/cart', 'https://shop.example/checkout')).toBe('')
    expect(referrerDomain('android-app://com.google', 'https://shop.example/')).toBe('com.google')
    expect(referrerDomain('garbage', 'https://shop.example/')).toBe('')
    expect(referrerDomain(undefined, undefined)).toBe('')
  })

  it('reads utm_campaign and resource URLs without query', () => {
    expect(utmCampaign('https://shop.example/?utm_source=x&utm_campaign=black-friday')).toBe('black-friday')
    expect(utmCampaign('/landing?utm_campaign=spring')).toBe('spring')
    expect(utmCampaign('https://shop.example/?campaign=x')).toBe('')
    expect(resourceUrl('https://cdn.example/app.js?v=3#x')).toBe('https://cdn.example/app.js')
    expect(resourceUrl('data:image/png;base64,AAAA')).toBe('data:image/png;base64,AAAA')
  })
})

describe('startRollupJob', () => {
  it('runs at start and then every period, never two runs at once, and stop waits for the current run', async () => {
    let runs = 0
    let concurrent = 0
    let maxConcurrent = 0
    let release: () => void = () => {}
    const analytics = {
      refreshRollups: async () => {
        runs++
        concurrent++
        maxConcurrent = Math.max(maxConcurrent, concurrent)
        await new Promise<void>((resolve) => (release = resolve))
        concurrent--
        return { hours: 1, days: 0 }
      },
    }
    const results: number[] = []
    const job = startRollupJob({ analytics, clock: { now: () => 0 }, intervalMs: 5, onRun: ({ hours }) => results.push(hours) })
    expect(runs).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(runs).toBe(1)
    const stopped = job.stop()
    release()
    await stopped
    expect(results).toEqual([1])
    expect(maxConcurrent).toBe(1)
  })

  it('reports a failed run and keeps going', async () => {
    let calls = 0
    const errors: unknown[] = []
    const job = startRollupJob({
      clock: { now: () => 0 },
      analytics: { refreshRollups: async () => (++calls === 1 ? Promise.reject(new Error('disk full')) : { hours: 0, days: 0 }) },
      intervalMs: 5,
      onError: (error) => errors.push(error),
    })
    // Waits for the second run however slow the machine is (no timing assertion).
    for (let i = 0; i < 500 && calls < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await job.stop()
    expect(errors).toHaveLength(1)
    expect(calls).toBeGreaterThan(1)
  })
})

describe('createStepPacer', () => {
  it('after each step waits so that the steps take the given share of the time', async () => {
    let clock = 100
    const waits: number[] = []
    let turns = 0
    const step = createStepPacer({ share: 0.1, elapsed: () => clock, sleep: async (ms) => void waits.push(ms), yieldTurn: async () => void turns++ })
    clock += 4
    await step()
    clock += 2
    await step()
    // Time spent waiting is not counted as work: the next step's clock starts after the wait.
    await step()
    expect(waits.map((ms) => Math.round(ms * 1e6) / 1e6)).toEqual([36, 18])
    expect(turns).toBe(1)
  })

  it('with share 1 only yields a turn, and refuses a share outside (0, 1]', async () => {
    let clock = 0
    const waits: number[] = []
    let turns = 0
    const step = createStepPacer({ share: 1, elapsed: () => clock, sleep: async (ms) => void waits.push(ms), yieldTurn: async () => void turns++ })
    clock += 50
    await step()
    expect(waits).toEqual([])
    expect(turns).toBe(1)
    for (const share of [0, -1, 1.5, Number.NaN]) expect(() => createStepPacer({ share })).toThrow(RangeError)
  })

  it('is what the server’s rollup job passes to every refresh unless told otherwise', async () => {
    const shares: Array<number | undefined> = []
    const job = startRollupJob({ clock: { now: () => 0 }, analytics: { refreshRollups: async ({ share }) => (shares.push(share), { hours: 0, days: 0 }) } })
    await job.stop()
    const unpaced = startRollupJob({ clock: { now: () => 0 }, share: 1, analytics: { refreshRollups: async ({ share }) => (shares.push(share), { hours: 0, days: 0 }) } })
    await unpaced.stop()
    expect(shares).toEqual([ROLLUP_SHARE, 1])
    expect(ROLLUP_SHARE).toBeGreaterThan(0)
    expect(ROLLUP_SHARE).toBeLessThanOrEqual(0.25)
  })
})
