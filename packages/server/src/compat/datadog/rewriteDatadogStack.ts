/**
 * The Datadog browser SDK does not send an error's stack as the engine printed it: it parses it (TraceKit)
 * and prints the frames in a format of its own (browser-core's toStackTraceString), the same for every
 * browser:
 *
 *   TypeError: Cannot read properties of undefined (reading 'percent')
 *     at applyDiscount @ https://shop.example/app.js:3:22
 *     at <anonymous> @ https://shop.example/app.js:24:33
 *
 * Tacit groups errors and resolves source maps from stacks in the engines' formats (errors/parseStack.ts),
 * so each such frame is printed back the way V8 prints it — `    at applyDiscount (https://…/app.js:3:22)`,
 * and an anonymous function's frame as its bare location. Other lines (the message, which may span lines)
 * are kept as they are; a stack without Datadog frames comes back unchanged.
 */
export function rewriteDatadogStack(stack: string): string {
  if (!stack.includes(' @ ')) return stack
  const lines = stack.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (!line.startsWith('  at ')) continue
    const body = line.slice(5)
    const at = body.indexOf(' @ ')
    if (at === -1) continue
    let name = body.slice(0, at).trim()
    const location = body.slice(at + 3).trim() || '<anonymous>'
    // TraceKit keeps a native frame's `(native)` as an argument list, which Datadog prints after the name.
    const open = name.indexOf('(')
    if (open > 0 && name.endsWith(')')) name = name.slice(0, open).trim()
    lines[i] = name === '' || name === '<anonymous>' || name === '?' ? `    at ${location}` : `    at ${name} (${location})`
  }
  return lines.join('\n')
}
