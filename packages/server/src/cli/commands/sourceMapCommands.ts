import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { resolveApp } from '../../apps/appAdmin.js'
import { systemClock } from '../../clock.js'
import { checkRelease, checkSourceFileContent, checkSourceFileName, findSourceMappingUrl } from '../../sourcemaps/checkSourceFile.js'
import { sourceFileJson, sourceMapReleaseJson } from '../../sourcemaps/sourceFileJson.js'
import { SOURCE_MAP_LIMITS } from '../../sourcemaps/sourceMapLimits.js'
import { formatBytes, storeSourceFile } from '../../sourcemaps/storeSourceFile.js'
import type { SourceFile } from '../../store/SourceMapStore.js'
import { CliError, formatTime, writeJson, writeTable, type CliCommand } from '../cliCommand.js'
import { createProgress } from '../createProgress.js'
import { expectPositionals } from '../expectPositionals.js'
import { openCliStore } from '../openCliStore.js'
import { plural } from './appCommands.js'

const BUNDLE_PATTERN = /\.(js|mjs|cjs)$/i
const MAP_PATTERN = /\.map$/i

export const sourceMapUploadCommand: CliCommand = {
  path: ['sourcemaps', 'upload'],
  usage: 'tacit sourcemaps upload <app> <dir> --release <release> [--url-prefix <path>] [--json] [--data-dir <dir>]',
  summary: "Store a build's source maps (*.map, and the scripts that link to them) for a release of an app.",
  options: { release: { type: 'string' }, 'url-prefix': { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = '', dir = ''] = expectPositionals(sourceMapUploadCommand, positionals, ['<app>', '<dir>'])
    const release = checkRelease(values.release)
    if (!release.ok) throw new CliError(values.release === undefined ? `Missing --release. Usage: ${sourceMapUploadCommand.usage}` : release.message)
    const prefix = urlPrefix(values['url-prefix'])
    const files = await findBuildFiles(dir, prefix)

    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const progress = createProgress(io)
      const stored: SourceFile[] = []
      const inline: string[] = []
      for (const [i, file] of files.entries()) {
        progress.update(`Uploading ${i + 1}/${files.length}: ${file.name}`)
        const result = await storeSourceFile({ sourceMaps: store.sourceMaps, clock: systemClock }, { appId: app.id, release: release.value, name: file.name, content: await readFile(file.path) })
        if (!result.ok) {
          progress.done()
          const done = stored.length > 0 ? ` (${plural(stored.length, 'file')} of ${files.length} were stored)` : ''
          throw new CliError(`Could not store ${file.relativePath}${done}: ${lowerFirst(result.message)}`)
        }
        stored.push(result.file)
        if (result.inlineMap) inline.push(file.relativePath)
      }
      progress.done()
      const maps = stored.filter((file) => file.kind === 'map')
      const bytes = maps.reduce((sum, file) => sum + file.size, 0)
      const storedBytes = maps.reduce((sum, file) => sum + file.storedSize, 0)
      if (values.json) {
        writeJson(io, { app: app.name, app_id: app.id, release: release.value, maps: maps.length, scripts: stored.length - maps.length, bytes, stored_bytes: storedBytes, files: stored.map(sourceFileJson) })
        return
      }
      io.stdout.write(
        `Stored ${plural(maps.length, 'source map')} (${formatBytes(bytes)}, ${formatBytes(storedBytes)} compressed) and ${plural(stored.length - maps.length, 'script')} ` +
          `for release ${release.value} of "${app.name}" (id ${app.id}).\n`,
      )
      if (inline.length > 0) io.stdout.write(`${plural(inline.length, 'script')} carry an inline source map, which is not used: ${inline.join(', ')}.\n`)
    })
  },
}

export const sourceMapListCommand: CliCommand = {
  path: ['sourcemaps', 'list'],
  usage: 'tacit sourcemaps list <app> [--release <release>] [--json] [--data-dir <dir>]',
  summary: "List an app's releases with source maps, or one release's files.",
  options: { release: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(sourceMapListCommand, positionals, ['<app>'])
    const release = values.release === undefined ? undefined : checkRelease(values.release)
    if (release && !release.ok) throw new CliError(release.message)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      if (release) {
        const files = await store.sourceMaps.listFiles(app.id, release.value)
        if (values.json) return writeJson(io, files.map(sourceFileJson))
        if (files.length === 0) return void io.stdout.write(`Release ${release.value} of "${app.name}" has no source maps.\n`)
        writeTable(
          io,
          ['NAME', 'KIND', 'SIZE', 'UPLOADED', 'LINKS TO'],
          files.map((file) => [file.name, file.kind, formatBytes(file.size), formatTime(file.uploadedAt), file.sourceMappingUrl ?? '-']),
        )
        return
      }
      const releases = await store.sourceMaps.listReleases(app.id)
      if (values.json) return writeJson(io, releases.map(sourceMapReleaseJson))
      if (releases.length === 0) return void io.stdout.write(`"${app.name}" has no source maps: upload some with \`tacit sourcemaps upload\`.\n`)
      writeTable(
        io,
        ['RELEASE', 'MAPS', 'FILES', 'SIZE', 'UPLOADED'],
        releases.map((r) => [r.release, r.maps, r.files, formatBytes(r.bytes), formatTime(r.uploadedAt)]),
      )
      const total = releases.reduce((sum, r) => sum + r.bytes, 0)
      io.stdout.write(`${formatBytes(total)} of the app's ${formatBytes(SOURCE_MAP_LIMITS.appBytes)} for source maps are used.\n`)
    })
  },
}

export const sourceMapDeleteCommand: CliCommand = {
  path: ['sourcemaps', 'delete'],
  usage: 'tacit sourcemaps delete <app> --release <release> [--json] [--data-dir <dir>]',
  summary: "Delete a release's source maps; a running server stops using them within a second.",
  options: { release: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals, io }) {
    const [ref = ''] = expectPositionals(sourceMapDeleteCommand, positionals, ['<app>'])
    const release = checkRelease(values.release)
    if (!release.ok) throw new CliError(values.release === undefined ? `Missing --release. Usage: ${sourceMapDeleteCommand.usage}` : release.message)
    return openCliStore(values['data-dir'], {}, async ({ store }) => {
      const app = await resolveApp(store, ref)
      const deleted = await store.sourceMaps.deleteRelease(app.id, release.value)
      if (deleted === 0) throw new CliError(`Release ${release.value} of "${app.name}" has no source maps: see \`tacit sourcemaps list ${app.name}\`.`)
      if (values.json) return writeJson(io, { app: app.name, app_id: app.id, release: release.value, deleted })
      io.stdout.write(`Deleted ${plural(deleted, 'file')} of release ${release.value} of "${app.name}" (id ${app.id}).\n`)
    })
  },
}

export const SOURCE_MAP_COMMANDS: readonly CliCommand[] = [sourceMapUploadCommand, sourceMapListCommand, sourceMapDeleteCommand]

interface BuildFile {
  path: string
  /** Relative to the directory given, with `/`: for messages. */
  relativePath: string
  /** As stored: the URL prefix and the relative path. */
  name: string
}

/**
 * `~/static/`, `/static`, `static/` and `https://cdn.example.com/static/` all mean: the files are served
 * under `/static/`. Stored names carry it, so they match the frames' URLs.
 */
function urlPrefix(flag: string | boolean | string[] | undefined): string {
  if (typeof flag !== 'string') return ''
  let path = flag
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname
    } catch {
      throw new CliError(`--url-prefix "${flag}" is not a valid URL.`)
    }
  }
  path = path.replace(/^~?\/+/, '').replace(/\/+$/, '')
  if (path === '') return ''
  const checked = checkSourceFileName(`${path}/x.js`)
  if (!checked.ok) throw new CliError(`--url-prefix "${flag}" is not a path the site serves files under, such as static/js.`)
  return `${path}/`
}

/**
 * The maps under `dir`, and the scripts that link to one (a `sourceMappingURL` comment, or a `<script>.map`
 * next to them), checked before anything is stored, so a bad file stops the upload before it starts.
 * Symbolic links are not followed: the upload stays inside the directory given.
 */
async function findBuildFiles(dir: string, prefix: string): Promise<BuildFile[]> {
  const top = await stat(dir).catch(() => undefined)
  if (!top?.isDirectory()) throw new CliError(`There is no directory ${dir}: give the build output directory, e.g. dist.`)
  const found: string[] = []
  await walk(dir, found)
  const names = new Set(found.map((path) => relative(dir, path)))
  const files: BuildFile[] = []
  for (const path of found.sort()) {
    const posixPath = relative(dir, path).split(sep).join('/')
    const relativePath = printablePath(posixPath)
    const isMap = MAP_PATTERN.test(path)
    if (!isMap && !BUNDLE_PATTERN.test(path)) continue
    const size = (await stat(path)).size
    if (size > SOURCE_MAP_LIMITS.fileBytes) throw new CliError(`${relativePath} is larger than ${formatBytes(SOURCE_MAP_LIMITS.fileBytes)}, the limit for one file.`)
    const named = checkSourceFileName(`${prefix}${posixPath}`)
    if (!named.ok) throw new CliError(`${relativePath} cannot be uploaded: ${lowerFirst(named.message)}`)
    const content = await readFile(path)
    if (isMap) {
      const checked = checkSourceFileContent('map', content)
      if (!checked.ok) throw new CliError(`${relativePath} cannot be uploaded: ${lowerFirst(checked.message)}`)
    } else if (!names.has(`${relative(dir, path)}.map`) && findSourceMappingUrl(content) === null) {
      continue
    }
    files.push({ path, relativePath, name: named.value.name })
  }
  if (!files.some((file) => MAP_PATTERN.test(file.path))) throw new CliError(`There are no source maps (*.map) in ${dir}: build with source maps on.`)
  if (files.length > SOURCE_MAP_LIMITS.releaseFiles) throw new CliError(`${dir} holds ${files.length} files to upload; a release may have at most ${SOURCE_MAP_LIMITS.releaseFiles}.`)
  return files
}

async function walk(dir: string, into: string[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await walk(path, into)
    // Dirents describe the link itself, not its target: links are neither files nor directories here.
    else if (entry.isFile()) into.push(path)
  }
}

/** A file name as a message can show it: quoted and escaped when it holds control characters (a newline would split the sentence). */
function printablePath(path: string): string {
  return /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(path) ? JSON.stringify(path) : path
}

function lowerFirst(sentence: string): string {
  return sentence.charAt(0).toLowerCase() + sentence.slice(1)
}
