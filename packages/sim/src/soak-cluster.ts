/**
 * The node processes of the soak scenario ({@link runSoak}): one OS process per node on TCP
 * loopback, the last node's data directory on a tmpfs of its own (the full disk), partitions
 * enforced by each node's gater, crashes by SIGKILL and restarts on the same directory, and the
 * VmRSS of every process sampled from /proc.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Signer, toHex } from '@provsync/crdt'
import type { ChildConfig } from './child.js'
import { seedIdentity } from './cluster.js'
import { applyFault, type FaultEvent, HEALTHY, type LinkState, reachable } from './faults.js'
import { type FullDisk, mountFullDisk } from './full-disk.js'
import type { Rng } from './prng.js'
import { freePort, type NodeProcess, spawnNodeProcess } from './process.js'

export interface SoakClusterOptions {
  readonly nodes: number
  readonly dir: string
  readonly networkId: string
  readonly operator: Signer
  readonly rng: Rng
  /** Size of the full-disk node's tmpfs. */
  readonly fullDiskMiB: number
}

export interface SoakCluster {
  readonly processes: Array<NodeProcess | undefined>
  readonly addresses: readonly string[]
  /** Index of the node whose data directory is the small tmpfs. */
  readonly fullDiskNode: number
  readonly disk: FullDisk
  start(i: number): Promise<void>
  crash(i: number): Promise<void>
  fault(event: FaultEvent): Promise<void>
  /** VmRSS in MiB of every running node, undefined for a node that is down. */
  rss(): Array<number | undefined>
  stop(): Promise<void>
}

export function rssMiB(pid: number): number | undefined {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)
    return match === null ? undefined : Number(match[1]) / 1024
  } catch {
    return undefined // the process just exited
  }
}

export async function startSoakCluster(options: SoakClusterOptions): Promise<SoakCluster> {
  const { nodes, dir } = options
  const fullDiskNode = nodes - 1
  // Mounted before the identity is written into it, so the node finds its identity on the tmpfs.
  const disk = mountFullDisk(join(dir, `n${fullDiskNode}`), options.fullDiskMiB)
  const peerIds = await Promise.all(
    Array.from({ length: nodes }, (_, i) =>
      seedIdentity(join(dir, `n${i}`), options.rng.fork(`id-${i}`).bytes(32)),
    ),
  )
  const ports = await Promise.all(peerIds.map(() => freePort()))
  const addresses = peerIds.map((p, i) => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${p}`)
  const configOf = (i: number): ChildConfig => ({
    dataDir: join(dir, `n${i}`),
    networkId: options.networkId,
    trust: [toHex(options.operator.publicKey)],
    listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`],
    bootstrap: addresses.filter((_, j) => j !== i),
    name: `n${i}`,
    // The full-disk node probes every 500 ms and resumes once 4 MiB are free (its tmpfs is small).
    ...(i === fullDiskNode ? { writeProbe: { probeMs: 500, resumeFreeBytes: 4 * 2 ** 20 } } : {}),
  })
  let links: LinkState = HEALTHY
  const processes: Array<NodeProcess | undefined> = []
  const unreachableFrom = (i: number): string[] =>
    peerIds.flatMap((peer, j) => (j !== i && !reachable(links, i, j) ? [peer.toString()] : []))
  const sendLinks = async (): Promise<void> => {
    await Promise.all(
      processes.map((p, i) => p?.call({ cmd: 'links', unreachable: unreachableFrom(i) }).catch(() => {})),
    )
  }
  const start = async (i: number): Promise<void> => {
    processes[i] = await spawnNodeProcess(configOf(i), { startTimeoutMs: 120_000 })
    await processes[i]!.call({ cmd: 'links', unreachable: unreachableFrom(i) })
  }
  await Promise.all(peerIds.map((_, i) => start(i)))
  return {
    processes,
    addresses,
    fullDiskNode,
    disk,
    start,
    async crash(i) {
      const child = processes[i]
      processes[i] = undefined
      child?.kill('SIGKILL')
      await child?.exited
    },
    async fault(event) {
      links = applyFault(links, event)
      await sendLinks()
    },
    rss: () => processes.map((p) => (p === undefined ? undefined : rssMiB(p.pid))),
    async stop() {
      await Promise.allSettled(processes.map((p) => p?.call({ cmd: 'stop' })))
      for (const p of processes) p?.kill('SIGKILL')
      await Promise.allSettled(processes.map((p) => p?.exited))
      disk.unmount()
    },
  }
}
