/**
 * The update log (client) and the publication log (repository): one JSON object per line, appended,
 * each with the time and an `event`. Appends are synchronous so a line is on disk before the step it
 * records goes on, and the log of a run that crashes ends with the last step it took.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export type LogEntry = { event: string } & Record<string, unknown>

export class JsonLinesLog {
  constructor (readonly file: string, private readonly also?: (entry: LogEntry & { time: string }) => void) {
    mkdirSync(dirname(file), { recursive: true })
  }

  append (entry: LogEntry): void {
    const line = { time: new Date().toISOString(), ...entry }
    appendFileSync(this.file, JSON.stringify(line) + '\n')
    this.also?.(line)
  }
}
