import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export interface ChartSeries {
  label: string
  values: Array<number | null>
  /** A CSS custom property naming the colour (`--series-1`), so light and dark themes both apply. */
  color: string
  /** Bars instead of a line (counts per bucket). */
  bars?: boolean
}

/**
 * A uPlot chart sized to its container. uPlot sets sizes through `element.style` (the CSSOM), which the
 * dashboard's `style-src 'self'` policy allows; its stylesheet is bundled as a file.
 */
export function TimeChart({ title, times, series, height = 200, valueFormat, integers = false, xLabels }: {
  title: string
  /** Seconds (uPlot's unit) for a time axis; ignored when xLabels is given. */
  times: number[]
  series: ChartSeries[]
  height?: number
  valueFormat?: (value: number) => string
  /** Counts: y ticks on whole numbers only. */
  integers?: boolean
  /** Categories (histogram buckets) instead of time: one slot per label. */
  xLabels?: string[]
}) {
  const holder = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const element = holder.current
    if (!element) return
    const style = getComputedStyle(document.documentElement)
    const color = (name: string) => style.getPropertyValue(name).trim() || '#2f5bd3'
    const axisColor = color('--muted')
    const gridColor = color('--grid')
    const bars = uPlot.paths.bars?.({ size: [0.7, 40] })
    const xs = xLabels ? xLabels.map((_, i) => i) : times
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      scales: { x: xLabels ? { time: false, range: [-0.5, xLabels.length - 0.5] } : { time: true, ...(series.some((s) => s.bars) ? { range: padForBars } : {}) } },
      legend: { show: series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      axes: [
        {
          stroke: axisColor,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor },
          ...(xLabels ? { splits: () => xs, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => xLabels[t] ?? '') } : {}),
        },
        {
          stroke: axisColor,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor },
          size: 60,
          ...(integers ? { incrs: WHOLE_STEPS } : {}),
          ...(valueFormat ? { values: (_u: uPlot, ticks: number[]) => ticks.map(valueFormat) } : {}),
        },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: color(s.color),
          fill: s.bars ? color(s.color) : undefined,
          width: 2,
          points: { show: false },
          ...(s.bars && bars ? { paths: bars } : {}),
          ...(valueFormat ? { value: (_u: uPlot, v: number | null) => (v === null ? '–' : valueFormat(v)) } : {}),
        })),
      ],
    }
    const chart = new uPlot(options, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, element)
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(element.clientWidth, 200), height }))
    resize.observe(element)
    return () => {
      resize.disconnect()
      chart.destroy()
    }
  }, [times, series, height, valueFormat, integers, xLabels])
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={holder} role="img" aria-label={`${title}: chart of ${series.map((s) => s.label).join(', ')}`} />
    </figure>
  )
}

/** Half a bucket either side, so the first and last bars are not cut in half by the plot's edges. */
function padForBars(u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const xs = u.data[0]
  const step = xs.length > 1 ? (xs[1]! - xs[0]!) / 2 : 1800
  return [min - step, max + step]
}

const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9]

/** ISO times from the API as uPlot's seconds. */
export function toSeconds(times: string[]): number[] {
  return times.map((t) => Math.floor(new Date(t).getTime() / 1000))
}
