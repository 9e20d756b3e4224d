/**
 * File names in a torrent come from strangers and end up as paths on our disk. Each component must be
 * one plain name: anything that could climb out of the download directory or name another file is
 * rejected here, before a FileStore ever joins it to a path.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Why `name` is not a safe path component, or undefined when it is. */
export function unsafeComponentReason (name: string): string | undefined {
  if (name === '') return 'is empty'
  if (name === '.' || name === '..') return `is "${name}"`
  if (name.includes('/')) return 'contains "/"'
  // A backslash is a separator on Windows, where the same torrent may be opened.
  if (name.includes('\\')) return 'contains "\\"'
  if (name.includes('\0')) return 'contains a NUL byte'
  return undefined
}

/** Strict UTF-8 decoding: undefined for bytes that are not valid UTF-8. */
export function decodeUtf8 (bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}
