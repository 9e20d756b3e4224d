/** JSON-lines parsing for the peers' stdout (bttls --json, lt_peer.py). */
import type { JsonEvent } from './processes.js'

/**
 * Splits complete lines off `text` and parses those that are JSON objects with an `event` field;
 * other lines (human output, warnings) are skipped. `rest` is the unfinished last line.
 */
export function splitJsonLines (text: string): { events: JsonEvent[], rest: string } {
  const lines = text.split('\n')
  const rest = lines.pop() ?? ''
  const events: JsonEvent[] = []
  for (const line of lines) {
    const t = line.trim()
    if (!t.startsWith('{')) continue
    try {
      const v = JSON.parse(t) as unknown
      if (v !== null && typeof v === 'object' && typeof (v as { event?: unknown }).event === 'string') events.push(v as JsonEvent)
    } catch { /* not JSON after all */ }
  }
  return { events, rest }
}
