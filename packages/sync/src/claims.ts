import type { StoreName } from './state.js'
import { toHex } from './trust.js'

/**
 * Records this node is pulling right now, across all its sessions. Sessions with several peers at
 * once (announcements from many, pulls the peers start themselves) find mostly the same missing
 * records; each is fetched, verified and applied once, by the session that claimed it first. The
 * others wait for that session and fetch only what it did not bring.
 */
export interface PullClaims {
  /** Claims the keys no other session is pulling; the rest come back as `elsewhere`. */
  claim(store: StoreName, keys: readonly Uint8Array[]): Claim
  /** Keys claimed and not yet released. */
  readonly size: number
}

export interface Claim {
  /** Keys this session pulls. */
  readonly mine: readonly Uint8Array[]
  /**
   * Keys other sessions are pulling, grouped by session. `missing` settles when that session
   * releases them: the keys of the group whose records it did not bring (all, if it failed).
   */
  readonly elsewhere: ReadonlyArray<{ keys: Uint8Array[]; missing: Promise<Uint8Array[]> }>
  /**
   * Ends the claim on `mine`: `delivered` are the keys whose records arrived and were not refused,
   * `undefined` if the pull failed. Waiting sessions then go on.
   */
  release(delivered: readonly Uint8Array[] | undefined): void
}

/**
 * What an owner brought: the delivered keys, or undefined when it failed. Kept as the keys: only a
 * waiting session turns them into ids (measured, session 15: a set of ids built at every release,
 * waited for or not, was about 1 % of a full sync's calling-thread time).
 */
type Outcome = readonly Uint8Array[] | undefined

/** One open claim: the keys it owns and, once entered in the shared index, their ids. */
interface Open {
  readonly store: StoreName
  readonly me: Promise<Outcome>
  readonly mine: readonly Uint8Array[]
  ids: string[] | undefined
}

const idIn = (store: StoreName) => (key: Uint8Array) => `${store}/${toHex(key)}`

/** Whether each key sorts after the one before it: then no key repeats. */
function strictlyIncreasing(keys: readonly Uint8Array[]): boolean {
  for (let i = 1; i < keys.length; i++) if (Buffer.compare(keys[i - 1]!, keys[i]!) >= 0) return false
  return true
}

export function createPullClaims(): PullClaims {
  const inFlight = new Map<string, Promise<Outcome>>()
  /**
   * Open claims whose keys are not in `inFlight`: a claim made while no other is open owns every
   * key it asks for, so its ids are entered only once another claim needs them. A full sync claims
   * a store's every key at once before its first fetch: an id each (a hex string and a map entry)
   * was 25 ms of the 60-90 ms between the end of reconciliation and the first verification for
   * 10,000 keys (`bench/full-sync-probe.ts`, session 16), and as much again for the release.
   */
  const unindexed = new Set<Open>()
  const index = (open: Open): void => {
    open.ids = open.mine.map(idIn(open.store))
    for (const id of open.ids) inFlight.set(id, open.me)
    unindexed.delete(open)
  }
  return {
    claim(store, keys) {
      let settle: (outcome: Outcome) => void = () => {}
      const me = new Promise<Outcome>((resolve) => {
        settle = resolve
      })
      const alone = inFlight.size === 0 && unindexed.size === 0 && strictlyIncreasing(keys)
      if (!alone) for (const open of [...unindexed]) index(open)
      const { mine, ids, elsewhere } = alone
        ? { mine: [...keys], ids: undefined, elsewhere: [] }
        : share(inFlight, store, keys, me)
      const open: Open = { store, me, mine, ids }
      if (alone) unindexed.add(open)
      let released = false
      return {
        mine,
        elsewhere,
        release(delivered) {
          // Stryker disable next-line ConditionalExpression: equivalent, a second release finds none of its ids mapped to it (the check below)
          if (released) return
          // Stryker disable next-line BooleanLiteral: equivalent, a second release finds none of its ids mapped to it (the check below)
          released = true
          unindexed.delete(open)
          // Stryker disable next-line ConditionalExpression: equivalent, the released flag stops a second release, and until then every id maps to this claim
          for (const id of open.ids ?? []) if (inFlight.get(id) === me) inFlight.delete(id)
          settle(delivered === undefined ? undefined : [...delivered])
        },
      }
    },
    get size() {
      let size = inFlight.size
      for (const open of unindexed) size += open.mine.length
      return size
    },
  }
}

/**
 * Enters the keys no open claim owns as `me`'s (each once) and groups the others by owner, for a
 * claim made while other claims are open (their keys indexed).
 */
function share(
  inFlight: Map<string, Promise<Outcome>>,
  store: StoreName,
  keys: readonly Uint8Array[],
  me: Promise<Outcome>,
): { mine: Uint8Array[]; ids: string[]; elsewhere: Claim['elsewhere'] } {
  const idOf = idIn(store)
  const mine: Uint8Array[] = []
  // Stryker disable next-line ArrayDeclaration: equivalent, an id no key has is mapped to no claim, so release skips it
  const ids: string[] = []
  const others = new Map<Promise<Outcome>, Uint8Array[]>()
  for (const key of keys) {
    const id = idOf(key)
    const owner = inFlight.get(id)
    if (owner === undefined) {
      inFlight.set(id, me)
      mine.push(key)
      ids.push(id)
    } else if (owner !== me) {
      const group = others.get(owner)
      if (group === undefined) others.set(owner, [key])
      else group.push(key)
    }
  }
  const elsewhere = [...others].map(([owner, group]) => ({
    keys: group,
    missing: owner.then((delivered) => {
      if (delivered === undefined) return group
      const brought = new Set(delivered.map(idOf))
      return group.filter((key) => !brought.has(idOf(key)))
    }),
  }))
  return { mine, ids, elsewhere }
}
