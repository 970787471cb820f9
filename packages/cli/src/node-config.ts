import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CliError } from './errors.js'
import { toHex } from './hex.js'

export const NODE_CONFIG_FILE = 'node.json'
export const DEFAULT_NETWORK_ID = 'provsync'

/**
 * What a data directory remembers between starts (`<data-dir>/node.json`), so `provsync node`
 * alone restarts it as it was: its network, the trust bundle in force (rotations included) and
 * whether it runs a closed network.
 */
export interface NodeConfig {
  readonly networkId: string
  /** Operator keys in force (hex): the last rotation followed, else `--trust`. */
  readonly trust: readonly string[]
  /** Version of the bundle in force, decimal; absent: 0, the bundle `--trust` gave. */
  readonly trustVersion?: string
  /** Signatures of `trust` keys the next bundle needs; absent: a majority of them. */
  readonly trustThreshold?: number
  /** The `--trust` keys and threshold the chain started from: the same flag at a restart keeps the rotations. */
  readonly genesis?: { readonly trust: readonly string[]; readonly threshold: number }
  /** Closed network (`--closed`), kept until `--open`. */
  readonly closed?: boolean
}

/** The trust bundle a node starts with: keys, how many of them sign the next one, its version. */
export interface StartBundle {
  readonly version: bigint
  readonly threshold: number
  readonly keys: readonly Uint8Array[]
}

/** The default threshold of a bundle given by `--trust`: a majority of its keys. */
export function majority(keys: number): number {
  return Math.floor(keys / 2) + 1
}

const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
const sameKeys = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join()

/**
 * The bundle in force at start. Without `--trust`: what node.json remembers (rotations included).
 * With `--trust`: the remembered bundle when the flag names the keys the chain started from, or
 * the keys in force (with the same threshold, if one is given); otherwise `--trust` starts a new
 * chain at version 0 (`reset`: the remembered one had rotated), which the node follows again from
 * the bundles it stores.
 */
export function startBundle(
  stored: NodeConfig | undefined,
  given: { readonly keys: readonly Uint8Array[]; readonly threshold?: number } | undefined,
): { bundle: StartBundle; genesis: { trust: string[]; threshold: number }; reset: boolean } {
  const remembered = stored === undefined ? undefined : rememberedBundle(stored)
  if (given === undefined) {
    const bundle = remembered ?? { version: 0n, threshold: 0, keys: [] }
    const genesis = stored?.genesis ?? { trust: bundle.keys.map(toHex), threshold: bundle.threshold }
    return { bundle, genesis: { trust: [...genesis.trust], threshold: genesis.threshold }, reset: false }
  }
  const hex = given.keys.map(toHex)
  const threshold = given.threshold ?? majority(hex.length)
  const genesis = { trust: hex, threshold }
  if (stored !== undefined && remembered !== undefined) {
    const g = stored.genesis
    const isGenesis = g !== undefined && sameKeys(g.trust, hex) && g.threshold === threshold
    const inForce =
      sameKeys(stored.trust, hex) &&
      (given.threshold === undefined || given.threshold === remembered.threshold)
    const kept = g === undefined ? genesis : { trust: [...g.trust], threshold: g.threshold }
    if (isGenesis || inForce) return { bundle: remembered, genesis: kept, reset: false }
  }
  const reset = remembered !== undefined && remembered.version > 0n
  return { bundle: { version: 0n, threshold, keys: given.keys }, genesis, reset }
}

function rememberedBundle(stored: NodeConfig): StartBundle {
  const keys = stored.trust.map(fromHex)
  return {
    version: BigInt(stored.trustVersion ?? '0'),
    threshold: stored.trustThreshold ?? (keys.length === 0 ? 0 : majority(keys.length)),
    keys,
  }
}

/** The network id and trust a data directory was last started with; refuses a directory without them. */
export async function readNodeConfig(dataDir: string): Promise<NodeConfig> {
  const config = await readConfig(dataDir, true)
  if (config === undefined)
    throw new CliError(
      `${join(dataDir, NODE_CONFIG_FILE)} is missing: ${dataDir} is not a provsync data directory`,
    )
  return config
}

const HEX_KEY = /^[0-9a-f]{64}$/

/** node.json, checked field by field; undefined when absent (or damaged and not `required`). */
export async function readConfig(dataDir: string, required: boolean): Promise<NodeConfig | undefined> {
  let text: string
  try {
    text = await readFile(join(dataDir, NODE_CONFIG_FILE), 'utf8')
  } catch {
    return undefined
  }
  try {
    return checkConfig(JSON.parse(text))
  } catch {
    if (!required) return undefined
    throw new CliError(
      `${join(dataDir, NODE_CONFIG_FILE)} is damaged; start with --network <id> (and --trust <file>) to rewrite it`,
    )
  }
}

function checkConfig(value: Partial<Record<keyof NodeConfig, unknown>>): NodeConfig {
  const keys = (v: unknown): v is string[] =>
    Array.isArray(v) && v.every((k) => typeof k === 'string' && HEX_KEY.test(k))
  if (typeof value.networkId !== 'string' || !keys(value.trust)) throw new Error('bad shape')
  const { trustVersion: version, trustThreshold: threshold, genesis, closed } = value
  if (version !== undefined && !(typeof version === 'string' && /^\d{1,20}$/.test(version)))
    throw new Error('bad version')
  const count = (value.trust as string[]).length
  if (
    threshold !== undefined &&
    !(Number.isInteger(threshold) && (threshold as number) >= 1 && (threshold as number) <= count)
  )
    throw new Error('bad threshold')
  const g = genesis as { trust?: unknown; threshold?: unknown } | undefined
  if (g !== undefined && !(keys(g.trust) && Number.isInteger(g.threshold))) throw new Error('bad genesis')
  if (closed !== undefined && typeof closed !== 'boolean') throw new Error('bad closed')
  return value as NodeConfig
}

/** Writes node.json whole (temporary file, then rename), mode 0600. */
export async function writeConfig(dataDir: string, config: NodeConfig): Promise<void> {
  const file = join(dataDir, NODE_CONFIG_FILE)
  await writeFile(`${file}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 })
  await rename(`${file}.tmp`, file)
}

/** node.json for `bundle` in force, keeping the other fields of `base`. */
export function withBundle(base: NodeConfig, bundle: StartBundle): NodeConfig {
  return {
    ...base,
    trust: bundle.keys.map(toHex),
    trustVersion: bundle.version.toString(),
    ...(bundle.keys.length > 0 ? { trustThreshold: bundle.threshold } : {}),
  }
}
