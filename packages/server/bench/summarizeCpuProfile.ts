import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface CpuProfileSummary {
  totalMs: number
  /** Self time per function, largest first. */
  functions: Array<{ name: string; where: string; selfMs: number; percent: number }>
  /** Self time per area: a package under node_modules, Node's internals, Tacit's own code, GC, idle. */
  areas: Array<{ area: string; selfMs: number; percent: number }>
}

/** Self time from a V8 .cpuprofile (as written by `node --cpu-prof`): each sample's delta goes to the node it hit. */
export function summarizeCpuProfile(path: string, top = 25): CpuProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0)

  const functions = new Map<string, { name: string; where: string; us: number }>()
  const areas = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame
    if (!frame) continue
    const name = frame.functionName || '(anonymous)'
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''
    const key = `${name} ${where}`
    const entry = functions.get(key) ?? { name, where, us: 0 }
    entry.us += us
    functions.set(key, entry)
    const area = areaOf(frame.url, name)
    areas.set(area, (areas.get(area) ?? 0) + us)
  }
  const percent = (us: number) => Math.round((us / totalUs) * 1000) / 10
  return {
    totalMs: Math.round(totalUs / 1000),
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: Math.round(f.us / 1000), percent: percent(f.us) })),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: Math.round(us / 1000), percent: percent(us) })),
  }
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/')
  if (modules !== -1) return url.slice(modules + '/node_modules/'.length)
  const server = url.indexOf('/packages/server/')
  if (server !== -1) return url.slice(server + '/packages/server/'.length)
  return url.replace(/^file:\/\//, '')
}

function areaOf(url: string, name: string): string {
  if (!url) {
    // V8's pseudo-frames: (garbage collector), (idle), (program); and native builtins without a script.
    return name.startsWith('(') ? name : '(native/builtin)'
  }
  if (url.startsWith('node:')) return 'node internals'
  const modules = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules) return modules[1] as string
  if (url.includes('/packages/server/')) return 'tacit (packages/server)'
  return url
}

export function formatCpuProfileSummary(summary: CpuProfileSummary): string {
  const lines = [`  CPU profile of the server: ${summary.totalMs} ms sampled`, '  by area (self time):']
  for (const area of summary.areas.slice(0, 12)) lines.push(`    ${String(area.percent).padStart(5)} %  ${String(area.selfMs).padStart(6)} ms  ${area.area}`)
  lines.push('  top functions (self time):')
  for (const f of summary.functions) {
    lines.push(`    ${String(f.percent).padStart(5)} %  ${String(f.selfMs).padStart(6)} ms  ${f.name}  ${f.where}`)
  }
  return lines.join('\n')
}
