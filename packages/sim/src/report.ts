/**
 * The run report: the JSON a CI job keeps and the SVG chart a person opens. Both are pure
 * functions of what the scenario measured.
 */
import type { PushStats } from '@provsync/sync'
import type { CheckResult } from './checker.js'
import type { FaultEvent } from './faults.js'

export interface Sample {
  /** Time since the workload started. */
  readonly tMs: number
  /** Distinct (revocations, supersessions, assertions) root triples among running honest nodes. */
  readonly distinctRoots: number
  /** Bytes received by all nodes so far (transport level, every protocol). */
  readonly bytesIn: number
  /** Records acknowledged so far. */
  readonly records: number
}

/** A fault or Byzantine act as it was applied, on the same clock as the samples. */
export interface AppliedEvent {
  readonly tMs: number
  readonly type: FaultEvent['type'] | 'byzantine'
  readonly label: string
  /** Distinct root sets among running honest nodes just before the event was applied. */
  readonly distinctRoots: number
}

export interface NodeTraffic {
  readonly bytesIn: number
  readonly bytesOut: number
  readonly sessions: number
  readonly rounds: number
}

/** What loss did to one link of the memory transport (both directions, every connection). */
export interface LinkReport {
  /** The two ends by node name (`n1-n2`). */
  readonly link: string
  readonly chunks: number
  /** Transmissions lost, retransmissions included. */
  readonly lost: number
  readonly retransmitted: number
  /** Connections reset because one chunk was lost on every transmission. */
  readonly resets: number
}

/** One register a Byzantine peer served in two versions at once, and where each version went. */
export interface EquivocationReport {
  /** The Byzantine peer that signed both versions: the equivocation is its act. */
  readonly byzantine: string
  readonly peer: string
  readonly store: string
  readonly key: string
  readonly versions: readonly {
    readonly hash: string
    /** Honest nodes it answered with this version (its own count). */
    readonly handedTo: readonly string[]
    /** Honest nodes whose store received this version straight from it. */
    readonly receivedBy: readonly string[]
  }[]
  /**
   * The version every honest node holds at the end; null when they hold none (once the peer's key
   * is revoked its registers leave the stores, as in the CI run) or disagree (a violation).
   */
  readonly winner: string | null
}

export interface SimReport {
  readonly scenario: string
  readonly seed: string
  readonly transport: 'memory' | 'tcp' | 'netns'
  readonly nodes: { readonly honest: number; readonly byzantine: number }
  readonly workload: {
    readonly operations: number
    readonly acknowledged: number
    readonly recordsPerSecond: number
    readonly writeMs: number
  }
  readonly lastHealMs: number
  /** When every honest node first held the same roots after the last heal (and stayed so). */
  readonly convergedAtMs: number
  readonly convergeMsAfterHeal: number
  /**
   * When the harness first counted equal roots, after the last heal: `convergeMsAfterHeal` plus
   * what the count itself added (a busy loop, a node thread's late answer); -1 if never.
   */
  readonly convergeSeenMsAfterHeal: number
  readonly durationMs: number
  readonly rounds: number
  readonly sessions: {
    readonly ok: number
    readonly failed: number
    /** Failed sessions by error (name and the start of the message), all honest nodes together. */
    readonly errors: Readonly<Record<string, number>>
  }
  readonly bytes: {
    /** Transport bytes all nodes received. */
    readonly totalIn: number
    /** Sync protocol payload bytes all nodes received (framed messages only). */
    readonly syncIn: number
    readonly perNode: Readonly<Record<string, NodeTraffic>>
    /** totalIn / (records x (honest - 1)), and the same for the sync payload. */
    readonly perRecordPerNode: number
    readonly syncPerRecordPerNode: number
    /**
     * Bytes all honest nodes received by libp2p protocol (`/provsync/reconcile/1.0.0`,
     * `/provsync/fetch/1.0.0`, `/meshsub/1.2.0`, identify), counted on the streams: the payload
     * above the muxer; `totalIn` less their sum is the muxer's framing, noise and negotiation.
     */
    readonly byProtocol: Readonly<Record<string, number>>
    /** Mean encoded record size, the ideal for the two figures above. */
    readonly meanRecordBytes: number
  }
  /**
   * Records all honest nodes pulled, how many of them were new to the puller, and pulls per
   * record per node (records x (honest - 1) as for bytes; 1 is ideal, more means the same record
   * was pulled from several peers at once).
   */
  readonly pulls: { readonly records: number; readonly applied: number; readonly perRecordPerNode: number }
  /**
   * Eager push (sync's `pushStats()`), summed over the honest nodes running at the end (a restart
   * starts a node's counters afresh); all zero when push is off.
   */
  readonly push: PushStats
  readonly refusals: Readonly<Record<string, number>>
  readonly offences: Readonly<Record<string, number>>
  /** Refusals and offences honest nodes blamed on honest peers (timeouts under partitions, say). */
  readonly blamedHonest: Readonly<Record<string, number>>
  /** Links where chunks were lost (memory transport), with retransmissions and resets. */
  readonly links: readonly LinkReport[]
  readonly equivocations: readonly EquivocationReport[]
  /** The plan as written (scheduled times). */
  readonly faults: readonly FaultEvent[]
  /** What was applied and when (a loaded machine applies events later than scheduled). */
  readonly events: readonly AppliedEvent[]
  readonly timeline: readonly Sample[]
  /** Event-loop delay of the harness process: every in-process node shares that one thread. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly check: CheckResult
}

/** JSON with a stable key order, so reports diff well across runs. */
export function reportJson(report: SimReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}

const WIDTH = 900
const PANEL = 200
const MARGIN = { left: 70, right: 20, top: 50, gap: 60, bottom: 40 }

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function niceMax(value: number): number {
  if (value <= 0) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  const steps = [1, 2, 2.5, 5, 10]
  return (steps.find((s) => s * magnitude >= value) ?? 10) * magnitude
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`
  return `${bytes} B`
}

const MARKER_COLOURS: Record<AppliedEvent['type'], string> = {
  byzantine: '#000000',
  partition: '#c0392b',
  heal: '#27ae60',
  crash: '#8e44ad',
  restart: '#2980b9',
  link: '#d68910',
  skew: '#7f8c8d',
}

export function describeFault(event: FaultEvent): string {
  switch (event.type) {
    case 'partition':
      return `partition ${event.groups.map((g) => g.length).join('|')}`
    case 'crash':
    case 'restart':
      return `${event.type} n${event.node}`
    case 'link':
      return `link n${event.a}-n${event.b} ${event.fault.lossPct}%/${event.fault.delayMs}ms`
    case 'skew':
      return `skew n${event.node} ${event.offsetMs}ms`
    case 'heal':
      return 'heal'
  }
}

interface Panel {
  readonly title: string
  readonly top: number
  readonly ticks: readonly number[]
  readonly yLabel: (v: number) => string
  readonly points: ReadonlyArray<readonly [number, number]>
  readonly colour: string
  readonly step: boolean
}

/** Integer ticks from 0 for a count: at most five, evenly spaced, the last at or above `max`. */
export function countTicks(max: number): number[] {
  const top = Math.max(1, Math.ceil(max))
  const step = Math.max(1, Math.ceil(top / 4))
  return Array.from({ length: Math.ceil(top / step) + 1 }, (_, i) => i * step)
}

/** Five ticks from 0 in round binary units (0, 256 KiB, 512 KiB ...), the last at or above `max`. */
export function byteTicks(max: number): number[] {
  let unit = 1
  while (max / unit >= 1024 && unit < 1024 ** 3) unit *= 1024
  const top = niceMax(Math.max(1, max / unit))
  const quarter = top / 4
  // A quarter that is not a whole number of units (1/4 of 1) reads badly: use halves there.
  const steps = Number.isInteger(quarter) || top >= 4 ? [0, 0.25, 0.5, 0.75, 1] : [0, 0.5, 1]
  return steps.map((f) => f * top * unit)
}

/** The top of a panel kept free of data, so its title never sits on the series. */
const TITLE_BAND = 24

function renderPanel(panel: Panel, x: (t: number) => number, plotWidth: number): string {
  const yMax = panel.ticks[panel.ticks.length - 1]!
  const y = (v: number): number => panel.top + PANEL - (v / yMax) * (PANEL - TITLE_BAND)
  const path: string[] = []
  panel.points.forEach(([t, v], i) => {
    if (panel.step && i > 0) path.push(`${x(t).toFixed(1)},${y(panel.points[i - 1]![1]).toFixed(1)}`)
    path.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`)
  })
  return [
    `<rect x="${MARGIN.left}" y="${panel.top}" width="${plotWidth}" height="${PANEL}" class="frame"/>`,
    ...panel.ticks.map(
      (v) =>
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>` +
        `<text x="${MARGIN.left - 6}" y="${(y(v) + 4).toFixed(1)}" class="tick" text-anchor="end">${escapeXml(panel.yLabel(v))}</text>`,
    ),
    `<polyline class="series" stroke="${panel.colour}" points="${path.join(' ')}"/>`,
    // The title sits inside the frame, in a band above the highest tick that no data reaches.
    `<rect x="${MARGIN.left + 1}" y="${panel.top + 1}" width="${Math.min(plotWidth - 2, panel.title.length * 7.5 + 12)}" height="${TITLE_BAND - 4}" fill="#fff"/>`,
    `<text x="${MARGIN.left + 8}" y="${panel.top + 15}" class="title">${escapeXml(panel.title)}</text>`,
  ].join('\n')
}

/** Width of a label in the 10 px font, generously estimated so placed labels never touch. */
function labelWidth(text: string): number {
  return text.length * 6 + 8
}

/**
 * Places event labels in rows under the first panel: each goes in the first row where it does
 * not overlap a label already there, so no two labels overlap whatever the event density.
 */
export function placeLabels(xs: readonly number[], texts: readonly string[]): number[] {
  const rowEnds: number[] = []
  return xs.map((px, i) => {
    const start = px
    let row = rowEnds.findIndex((end) => end <= start)
    if (row === -1) row = rowEnds.push(0) - 1
    rowEnds[row] = start + labelWidth(texts[i]!)
    return row
  })
}

const SERIES = {
  roots: '#1f77b4',
  bytes: '#ff7f0e',
  converged: '#27ae60',
} as const

/** One row of legend entries: the two series, the convergence line and each event type present. */
function renderLegend(report: SimReport, top: number): string {
  const types = [...new Set(report.events.map((e) => e.type))]
  const entries: Array<[string, string, boolean]> = [
    ['distinct root sets', SERIES.roots, false],
    ['bytes received', SERIES.bytes, false],
    ['converged', SERIES.converged, false],
    ...types.map((t): [string, string, boolean] => [t, MARKER_COLOURS[t], true]),
  ]
  let px = MARGIN.left
  let row = 0
  const out: string[] = []
  for (const [name, colour, dashed] of entries) {
    const width = 28 + labelWidth(name)
    if (px + width > WIDTH - MARGIN.right) {
      px = MARGIN.left
      row++
    }
    const ly = top + row * 14
    out.push(
      `<line x1="${px}" x2="${px + 20}" y1="${ly - 3}" y2="${ly - 3}" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="4 3"' : ''}/>` +
        `<text x="${px + 24}" y="${ly}" class="label">${escapeXml(name)}</text>`,
    )
    px += width
  }
  return out.join('\n')
}

/** Every byte the report counts: on TCP the harness sees only the streams, so their sum is the floor. */
export function totalBytesIn(report: SimReport): number {
  const streams = Object.values(report.bytes.byProtocol).reduce((sum, n) => sum + n, 0)
  return Math.max(report.bytes.totalIn, streams)
}

interface Layout {
  readonly plotWidth: number
  readonly x: (t: number) => number
  readonly rootsTop: number
  readonly bytesTop: number
  readonly legendTop: number
  readonly height: number
  readonly rows: number[]
}

function layout(report: SimReport): Layout {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right
  const tMax = Math.max(1, ...report.timeline.map((s) => s.tMs), ...report.events.map((e) => e.tMs))
  const x = (t: number): number => MARGIN.left + (t / tMax) * plotWidth
  const rows = placeLabels(
    report.events.map((e) => x(e.tMs)),
    report.events.map((e) => e.label),
  )
  const rowCount = Math.max(0, ...rows.map((r) => r + 1))
  const rootsTop = MARGIN.top + 24
  const bytesTop = rootsTop + PANEL + Math.max(MARGIN.gap, 30 + rowCount * 12)
  const legendTop = bytesTop + PANEL + 40
  return { plotWidth, x, rootsTop, bytesTop, legendTop, height: legendTop + 50, rows }
}

/**
 * Two panels over the run's time axis: distinct root sets among honest nodes (1 means converged)
 * and cumulative bytes received, with every fault event as a labelled vertical line, and a legend.
 */
export function renderChart(report: SimReport): string {
  const { plotWidth, x, rootsTop, bytesTop, legendTop, height, rows } = layout(report)
  const tMax = Math.max(1, ...report.timeline.map((s) => s.tMs), ...report.events.map((e) => e.tMs))
  const total = totalBytesIn(report)
  const allBytes = Math.max(0, ...report.timeline.map((s) => s.bytesIn))
  const maxBytes = Math.max(total, allBytes)
  const verdict = report.check.ok ? 'all invariants hold' : `${report.check.violations.length} violation(s)`
  const markers = report.events.map((event, i) => {
    const px = x(event.tMs).toFixed(1)
    const colour = MARKER_COLOURS[event.type]
    return (
      `<line x1="${px}" x2="${px}" y1="${rootsTop}" y2="${bytesTop + PANEL}" stroke="${colour}" class="marker"/>` +
      `<text x="${px}" y="${rootsTop + PANEL + 14 + rows[i]! * 12}" fill="${colour}" class="label">${escapeXml(event.label)}</text>`
    )
  })
  const converged = x(report.convergedAtMs).toFixed(1)
  const xTicks = Array.from({ length: 6 }, (_, i) => (i * tMax) / 5)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    '<style>.title{font-size:13px;font-weight:bold}.tick,.label{font-size:10px}.frame{fill:none;stroke:#444}' +
      '.grid{stroke:#ddd}.series{fill:none;stroke-width:2}.marker{stroke-dasharray:4 3;stroke-width:1}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="22" class="title">${escapeXml(
      `${report.scenario} (seed ${report.seed}, ${report.nodes.honest} honest + ${report.nodes.byzantine} Byzantine, ${report.transport})`,
    )}</text>`,
    `<text x="${MARGIN.left}" y="40" class="label">${escapeXml(
      `${verdict}; converged ${report.convergeMsAfterHeal.toFixed(0)} ms after the last heal; ${formatBytes(total)} received by the honest nodes`,
    )}</text>`,
    // Markers first: the panels' title bands are drawn over them, the series on top.
    ...markers,
    renderPanel(
      {
        title: 'distinct root sets among honest nodes (1 = converged)',
        top: rootsTop,
        ticks: countTicks(Math.max(2, ...report.timeline.map((s) => s.distinctRoots))),
        yLabel: (v) => String(v),
        points: report.timeline.map((s) => [s.tMs, s.distinctRoots] as const),
        colour: SERIES.roots,
        step: true,
      },
      x,
      plotWidth,
    ),
    renderPanel(
      {
        title: `bytes received, cumulative: ${formatBytes(allBytes)} by every node, Byzantine included (${formatBytes(total)} by the honest)`,
        top: bytesTop,
        ticks: byteTicks(maxBytes),
        yLabel: formatBytes,
        points: report.timeline.map((s) => [s.tMs, s.bytesIn] as const),
        colour: SERIES.bytes,
        step: false,
      },
      x,
      plotWidth,
    ),
    `<line x1="${converged}" x2="${converged}" y1="${rootsTop}" y2="${rootsTop + PANEL}" stroke="${SERIES.converged}" stroke-width="2"/>`,
    ...xTicks.map(
      (t) =>
        `<text x="${x(t).toFixed(1)}" y="${bytesTop + PANEL + 16}" class="tick" text-anchor="middle">${(t / 1000).toFixed(1)} s</text>`,
    ),
    `<text x="${MARGIN.left + plotWidth / 2}" y="${bytesTop + PANEL + 30}" class="tick" text-anchor="middle">time since the workload started</text>`,
    renderLegend(report, legendTop),
    '</svg>',
    '',
  ].join('\n')
}
