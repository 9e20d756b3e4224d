/**
 * A small SVG chart writer for the bench report: grouped bar charts and line charts, nothing else.
 * Hand-written so the report needs no chart library, and deterministic (same data, same bytes) so a
 * chart can be diffed between runs.
 */

export interface Series {
  readonly name: string
  /** One value per category; undefined leaves a gap (mode not measured). */
  readonly values: ReadonlyArray<number | undefined>
}

export interface ReferenceLine {
  readonly label: string
  readonly value: number
}

export interface BarChart {
  readonly title: string
  readonly yLabel: string
  readonly categories: readonly string[]
  readonly series: readonly Series[]
  /** Horizontal lines across the plot (physical limits, targets). */
  readonly references?: readonly ReferenceLine[]
  readonly width?: number
  readonly height?: number
}

export interface LineSeries {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

export interface LineChart {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly LineSeries[]
  readonly width?: number
  readonly height?: number
}

/** Colour-blind-safe palette (Okabe-Ito), in series order. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000']
const MARGIN = { top: 40, right: 20, bottom: 90, left: 70 }
const LEGEND_ROW = 18

export function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/** 0 and "nice" steps (1, 2, 5 × 10^k) up to at least `max`, about `count` of them. */
export function niceTicks (max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1]
  const raw = max / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map(m => m * magnitude).find(s => s >= raw)!
  const ticks: number[] = []
  for (let v = 0; v < max + step * 1e-9; v += step) ticks.push(round(v))
  if (ticks[ticks.length - 1]! < max) ticks.push(round(ticks[ticks.length - 1]! + step))
  return ticks
}

function round (v: number): number {
  return Number(v.toPrecision(12))
}

function fmt (v: number): string {
  if (v === 0) return '0'
  const abs = Math.abs(v)
  if (abs >= 100) return v.toFixed(0)
  if (abs >= 10) return v.toFixed(1).replace(/\.0$/, '')
  return v.toPrecision(2).replace(/\.?0+$/, '')
}

function n (v: number): string {
  return Number(v.toFixed(1)).toString()
}

function text (x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${n(x)}" y="${n(y)}"${attrs ? ' ' + attrs : ''}>${escapeXml(content)}</text>`
}

function frame (width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(width / 2, 22, title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
    ...body,
    '</svg>',
    ''
  ].join('\n')
}

/** Y axis with gridlines; returns the elements and the value-to-pixel mapping. */
function yAxis (ticks: number[], label: string, plot: { x: number, y: number, w: number, h: number }): { parts: string[], y: (v: number) => number } {
  const top = ticks[ticks.length - 1]!
  const y = (v: number): number => plot.y + plot.h - (v / top) * plot.h
  const parts: string[] = []
  for (const t of ticks) {
    parts.push(`<line x1="${n(plot.x)}" y1="${n(y(t))}" x2="${n(plot.x + plot.w)}" y2="${n(y(t))}" stroke="#dddddd"/>`)
    parts.push(text(plot.x - 6, y(t) + 4, fmt(t), 'text-anchor="end"'))
  }
  parts.push(`<line x1="${n(plot.x)}" y1="${n(plot.y)}" x2="${n(plot.x)}" y2="${n(plot.y + plot.h)}" stroke="#333333"/>`)
  parts.push(text(16, plot.y + plot.h / 2, label, `text-anchor="middle" transform="rotate(-90 16 ${n(plot.y + plot.h / 2)})"`))
  return { parts, y }
}

function legend (names: readonly string[], x: number, y: number, dashed: readonly string[] = []): string[] {
  return names.flatMap((name, i) => [
    `<rect x="${n(x)}" y="${n(y + i * LEGEND_ROW - 9)}" width="12" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`,
    text(x + 17, y + i * LEGEND_ROW, name)
  ]).concat(dashed.flatMap((name, i) => [
    `<line x1="${n(x)}" y1="${n(y + (names.length + i) * LEGEND_ROW - 4)}" x2="${n(x + 12)}" y2="${n(y + (names.length + i) * LEGEND_ROW - 4)}" stroke="#555555" stroke-dasharray="4 3"/>`,
    text(x + 17, y + (names.length + i) * LEGEND_ROW, name)
  ]))
}

export function barChart (chart: BarChart): string {
  const width = chart.width ?? 760
  const legendRows = chart.series.length + (chart.references?.length ?? 0)
  const height = (chart.height ?? 380) + legendRows * LEGEND_ROW
  const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom - legendRows * LEGEND_ROW }
  const values = chart.series.flatMap(s => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)))
  const refs = chart.references ?? []
  const ticks = niceTicks(Math.max(0, ...values, ...refs.map(r => r.value)))
  const { parts, y } = yAxis(ticks, chart.yLabel, plot)
  const slot = plot.w / Math.max(1, chart.categories.length)
  const barWidth = (slot * 0.8) / Math.max(1, chart.series.length)
  chart.categories.forEach((category, c) => {
    const x0 = plot.x + c * slot + slot * 0.1
    chart.series.forEach((s, i) => {
      const v = s.values[c]
      if (v === undefined || !Number.isFinite(v)) return
      const x = x0 + i * barWidth
      parts.push(`<rect x="${n(x)}" y="${n(y(v))}" width="${n(barWidth - 1)}" height="${n(plot.y + plot.h - y(v))}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeXml(`${category}, ${s.name}: ${fmt(v)}`)}</title></rect>`)
      // A label wider than its bar would run into the next one; the tooltip still has the value.
      if (barWidth >= 22) parts.push(text(x + barWidth / 2, y(v) - 3, fmt(v), 'text-anchor="middle" font-size="10"'))
    })
    const cx = plot.x + c * slot + slot / 2
    parts.push(text(cx, plot.y + plot.h + 14, category, `text-anchor="end" transform="rotate(-30 ${n(cx)} ${n(plot.y + plot.h + 14)})"`))
  })
  for (const r of refs) {
    parts.push(`<line x1="${n(plot.x)}" y1="${n(y(r.value))}" x2="${n(plot.x + plot.w)}" y2="${n(y(r.value))}" stroke="#555555" stroke-dasharray="4 3"/>`)
  }
  parts.push(`<line x1="${n(plot.x)}" y1="${n(plot.y + plot.h)}" x2="${n(plot.x + plot.w)}" y2="${n(plot.y + plot.h)}" stroke="#333333"/>`)
  parts.push(...legend(chart.series.map(s => s.name), plot.x, height - legendRows * LEGEND_ROW + 4, refs.map(r => `${r.label} (${fmt(r.value)})`)))
  return frame(width, height, chart.title, parts)
}

export function lineChart (chart: LineChart): string {
  const width = chart.width ?? 760
  const legendRows = chart.series.length
  const height = (chart.height ?? 380) + legendRows * LEGEND_ROW
  const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom - legendRows * LEGEND_ROW }
  const points = chart.series.flatMap(s => s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)))
  const yTicks = niceTicks(Math.max(0, ...points.map(p => p[1])))
  const xTicks = niceTicks(Math.max(0, ...points.map(p => p[0])))
  const { parts, y } = yAxis(yTicks, chart.yLabel, plot)
  const xTop = xTicks[xTicks.length - 1]!
  const x = (v: number): number => plot.x + (v / xTop) * plot.w
  for (const t of xTicks) parts.push(text(x(t), plot.y + plot.h + 16, fmt(t), 'text-anchor="middle"'))
  parts.push(`<line x1="${n(plot.x)}" y1="${n(plot.y + plot.h)}" x2="${n(plot.x + plot.w)}" y2="${n(plot.y + plot.h)}" stroke="#333333"/>`)
  parts.push(text(plot.x + plot.w / 2, plot.y + plot.h + 36, chart.xLabel, 'text-anchor="middle"'))
  chart.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]
    const valid = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py))
    if (valid.length > 1) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${valid.map(([px, py]) => `${n(x(px))},${n(y(py))}`).join(' ')}"/>`)
    for (const [px, py] of valid) {
      parts.push(`<circle cx="${n(x(px))}" cy="${n(y(py))}" r="3.5" fill="${colour}"><title>${escapeXml(`${s.name}: ${fmt(px)} → ${fmt(py)}`)}</title></circle>`)
    }
  })
  parts.push(...legend(chart.series.map(s => s.name), plot.x, height - legendRows * LEGEND_ROW + 4))
  return frame(width, height, chart.title, parts)
}
