/**
 * Nodes in separate Linux network namespaces, each a separate process, joined by veth pairs to a
 * bridge in a hub namespace, with addresses from the benchmarking range 198.18.0.0/15 only, and
 * packet loss injected with nftables (`numgen random mod 100 < P drop`). Needs root, `ip` and,
 * for loss, `nft`; {@link probeNetns} says what is missing.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { ScenarioConfigError, SimError } from './errors.js'

const run = promisify(execFile)

export interface NetnsSupport {
  /** Namespaces and veth pairs can be created. */
  readonly namespaces: boolean
  /** `nft` is there to inject loss. */
  readonly nft: boolean
  /** Why something is unavailable, for the skip message. */
  readonly reason: string
}

export class NetnsError extends SimError {
  override name = 'NetnsError'
}

async function tryRun(command: string, args: string[]): Promise<string | undefined> {
  try {
    await run(command, args)
    return undefined
  } catch (error) {
    return `${command} ${args.join(' ')}: ${((error as { stderr?: string }).stderr || (error as Error).message).trim()}`
  }
}

/** Checks, without side effects left behind, what this machine allows. */
export async function probeNetns(): Promise<NetnsSupport> {
  if (process.platform !== 'linux')
    return { namespaces: false, nft: false, reason: 'network namespaces need Linux' }
  if (process.getuid?.() !== 0)
    return { namespaces: false, nft: false, reason: 'network namespaces need root' }
  const name = `psprobe${randomBytes(3).toString('hex')}`
  const failed = await tryRun('ip', ['netns', 'add', name])
  if (failed !== undefined) return { namespaces: false, nft: false, reason: failed }
  await tryRun('ip', ['netns', 'del', name])
  const nftMissing = await tryRun('nft', ['--version'])
  return {
    namespaces: true,
    nft: nftMissing === undefined,
    reason:
      nftMissing === undefined ? '' : `nft is not installed (${nftMissing}); CI needs the nftables package`,
  }
}

/** The i-th node's address: 198.18.0.0/15 is reserved for benchmarking (RFC 2544). */
export function netnsAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 250)
    throw new ScenarioConfigError('netns.nodes', 'at most 251 nodes')
  return `198.18.0.${index + 1}`
}

export interface Namespaces {
  readonly names: readonly string[]
  setLoss(percent: number): Promise<void>
  remove(): Promise<void>
}

async function sh(args: string[]): Promise<void> {
  const failed = await tryRun(args[0]!, args.slice(1))
  if (failed !== undefined) throw new NetnsError(failed)
}

/** Creates `count` namespaces on one bridge; `remove` deletes all of them (and so their veths). */
export async function createNamespaces(count: number): Promise<Namespaces> {
  const id = randomBytes(2).toString('hex')
  const hub = `pshub${id}`
  const names = Array.from({ length: count }, (_, i) => `psn${id}${i}`)
  const created: string[] = []
  const remove = async (): Promise<void> => {
    await Promise.allSettled(created.map((n) => tryRun('ip', ['netns', 'del', n])))
  }
  try {
    await sh(['ip', 'netns', 'add', hub])
    created.push(hub)
    await sh(['ip', '-n', hub, 'link', 'add', 'br0', 'type', 'bridge'])
    await sh(['ip', '-n', hub, 'link', 'set', 'br0', 'up'])
    for (const [i, ns] of names.entries()) {
      await sh(['ip', 'netns', 'add', ns])
      created.push(ns)
      const inside = `psv${id}${i}`
      const outside = `psh${id}${i}`
      // Created inside the node namespace, so no name ever appears in the host's namespace.
      await sh(['ip', '-n', ns, 'link', 'add', inside, 'type', 'veth', 'peer', 'name', outside, 'netns', hub])
      await sh(['ip', '-n', hub, 'link', 'set', outside, 'master', 'br0', 'up'])
      await sh(['ip', '-n', ns, 'addr', 'add', `${netnsAddress(i)}/24`, 'dev', inside])
      await sh(['ip', '-n', ns, 'link', 'set', inside, 'up'])
      await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
    }
  } catch (error) {
    await remove()
    throw error
  }
  return {
    names,
    async setLoss(percent) {
      for (const ns of names) {
        const nft = (command: string): string[] => ['netns', 'exec', ns, 'nft', command]
        await tryRun('ip', nft('delete table inet provsync_sim'))
        if (percent <= 0) continue
        await sh(['ip', ...nft('add table inet provsync_sim')])
        await sh(['ip', ...nft('add chain inet provsync_sim input { type filter hook input priority 0 ; }')])
        await sh([
          'ip',
          ...nft(
            `add rule inet provsync_sim input ip saddr 198.18.0.0/15 numgen random mod 100 < ${percent} drop`,
          ),
        ])
      }
    },
    remove,
  }
}
