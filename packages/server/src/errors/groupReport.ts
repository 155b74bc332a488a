import { createHash } from 'node:crypto'
import type { IssueKey } from '../pipeline/storedEvent.js'
import { truncate } from '../protocol/limits.js'
import { normalizeFileName } from './groupError.js'
import { parameterizeMessage } from './parameterizeMessage.js'

/** What grouping reads from a `report` event: its type and its body, already allow-listed and scrubbed. */
export interface GroupableReport {
  type: string
  body: Record<string, unknown>
}

const TITLE_CAP = 200
const CULPRIT_CAP = 256
/** Keywords never get longer than this; anything longer is not one (`trusted-types-sink` is 18). */
const KEYWORD_CAP = 64

/**
 * Works out the issue a browser report belongs to (issue 5: reports are grouped by their own rules). The
 * fingerprint is the first 32 hex characters of a SHA-256 over `report`, the report type and the fields
 * that say *what* went wrong for that type, never *where* in detail:
 * - csp-violation: the effective directive and the blocked origin (`https://cdn.example`, or the keyword
 *   the browser gives: `inline`, `eval`, `data`, …) — never the path or query, which differ on every image;
 * - deprecation, intervention: the feature `id`, else the parameterised message;
 * - crash: the `reason`;
 * - network-error: the error `type` and the `phase`;
 * - coop, coep: the `type` and `disposition`, with COOP's `effectivePolicy` and COEP's `destination`;
 * - permissions- and document-policy violations: the `featureId` and `disposition`;
 * - any other type: its `id`, `featureId` or `reason`.
 * Line and column numbers play no part, as for errors. The culprit is the basename of `sourceFile`.
 * Fields are read defensively: whatever a client sent, this never throws.
 */
export function groupReport(report: GroupableReport): IssueKey {
  const type = typeof report?.type === 'string' ? report.type : ''
  const body: Record<string, unknown> = isObject(report?.body) ? report.body : {}
  const field = (key: string): string => {
    const value = Object.hasOwn(body, key) ? body[key] : undefined
    return typeof value === 'string' ? value.trim() : ''
  }

  const { key, title } = ruleFor(type, field)
  const issue: IssueKey = { fingerprint: sha256Hex(['report', type, ...key].join('\0')), title: truncate(oneLine(title), TITLE_CAP) }
  const sourceFile = field('sourceFile')
  const culprit = sourceFile && normalizeFileName(sourceFile)
  if (culprit) issue.culprit = truncate(oneLine(culprit), CULPRIT_CAP)
  return issue
}

interface Rule {
  key: string[]
  title: string
}

function ruleFor(type: string, field: (key: string) => string): Rule {
  switch (type) {
    case 'csp-violation': {
      const directive = field('effectiveDirective').toLowerCase()
      const blocked = blockedOrigin(field('blockedURL'))
      return { key: [directive, blocked], title: `CSP ${directive || 'violation'} blocked ${blocked || '(unknown)'}` }
    }
    case 'deprecation':
    case 'intervention': {
      const id = field('id')
      const message = firstLine(field('message'))
      const label = type === 'deprecation' ? 'Deprecation' : 'Intervention'
      return { key: id ? ['id', id] : ['message', parameterizeMessage(message)], title: `${label}: ${id || message || '(unknown)'}` }
    }
    case 'crash': {
      const reason = field('reason')
      return { key: [reason], title: `Crash: ${reason || '(unknown reason)'}` }
    }
    case 'network-error': {
      const errorType = field('type')
      const phase = field('phase')
      return { key: [errorType, phase], title: `Network error: ${errorType || '(unknown)'}${phase ? ` (${phase})` : ''}` }
    }
    case 'coop':
    case 'coep': {
      const detail = field(type === 'coop' ? 'effectivePolicy' : 'destination')
      const parts = [field('type'), field('disposition'), detail]
      return { key: parts, title: `${type.toUpperCase()}: ${listed(parts) || 'violation'}` }
    }
    case 'permissions-policy-violation':
    case 'potential-permissions-policy-violation':
    case 'document-policy-violation': {
      const parts = [field('featureId'), field('disposition')]
      return { key: parts, title: `${POLICY_LABELS[type]}: ${listed(parts) || '(unknown feature)'}` }
    }
    default: {
      const detail = field('id') || field('featureId') || field('reason')
      return { key: [detail], title: `${type || 'report'}${detail ? `: ${detail}` : ''}` }
    }
  }
}

const POLICY_LABELS: Record<string, string> = {
  'permissions-policy-violation': 'Permissions policy',
  'potential-permissions-policy-violation': 'Potential permissions policy',
  'document-policy-violation': 'Document policy',
}

/**
 * The part of a CSP report's `blockedURL` that names what was blocked: `scheme://host[:port]` of a URL, the
 * scheme alone of one without a host (`data`, `blob`), or the browser's keyword as given (`inline`, `eval`,
 * `wasm-eval`, `trusted-types-sink`). Path, query, fragment and credentials are left out: they vary with
 * every image or script of the same source, and can hold data.
 */
export function blockedOrigin(blocked: string): string {
  const value = blocked.trim()
  if (value === '') return ''
  const scheme = /^([a-z][a-z0-9+.-]{0,31}):/i.exec(value)
  if (scheme) {
    let url: URL | undefined
    try {
      url = new URL(value)
    } catch {
      url = undefined
    }
    if (url && url.host !== '') return `${url.protocol}//${url.host}`
    // `data:…`, `blob:https://…/uuid`, `about:blank`: the scheme says enough.
    return scheme[1]!.toLowerCase()
  }
  // A keyword, or a bare host as some older browsers send it (`cdn.example`).
  if (value.length <= KEYWORD_CAP && /^[a-z0-9][a-z0-9.-]*$/i.test(value)) return value.toLowerCase()
  // A bare path or something unreadable: the path is never part of the key.
  return ''
}

function listed(parts: string[]): string {
  return parts.filter((part) => part !== '').join(', ')
}

function firstLine(text: string): string {
  const newline = text.indexOf('\n')
  return (newline === -1 ? text : text.slice(0, newline)).trim()
}

/** Titles are shown on one line: control characters and runs of whitespace become one space. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim()
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
