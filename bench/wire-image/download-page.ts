/**
 * The download page of each file, which the page-visit clients fetch before the file: HTML of a size
 * drawn log-uniformly from PAGE_SIZES (a project's download page, with markup and inline styles, is a
 * few KiB to a few tens of KiB), linking to the file. Its content is never seen on the wire; its size is.
 */
import { randomBytes } from 'node:crypto'

export const PAGE_SIZES = { min: 1024, max: 32 * 1024 } as const

export function downloadPage (file: string, size: number): { readonly name: string, readonly html: Buffer } {
  const head = `<!doctype html>\n<html><head><title>Download ${file}</title></head><body><h1>${file}</h1><p><a href="/${file}">Download</a></p>\n<!-- `
  const tail = ' -->\n</body></html>\n'
  const filler = randomBytes(Math.ceil(size * 0.75)).toString('base64').slice(0, Math.max(0, size - head.length - tail.length))
  return { name: file.replace(/\.bin$/, '.html'), html: Buffer.from(head + filler + tail) }
}
