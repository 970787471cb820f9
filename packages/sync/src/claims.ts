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

export function createPullClaims(): PullClaims {
  const inFlight = new Map<string, Promise<Outcome>>()
  return {
    claim(store, keys) {
      const idOf = (key: Uint8Array) => `${store}/${toHex(key)}`
      let settle: (outcome: Outcome) => void = () => {}
      const me = new Promise<Outcome>((resolve) => {
        settle = resolve
      })
      const mine: Uint8Array[] = []
      // Stryker disable next-line ArrayDeclaration: equivalent, an id no key has is mapped to no claim, so release skips it
      const mineIds: string[] = []
      const elsewhere = new Map<Promise<Outcome>, Uint8Array[]>()
      for (const key of keys) {
        const id = idOf(key)
        const owner = inFlight.get(id)
        if (owner === undefined) {
          inFlight.set(id, me)
          mine.push(key)
          mineIds.push(id)
        } else if (owner !== me) {
          const group = elsewhere.get(owner)
          if (group === undefined) elsewhere.set(owner, [key])
          else group.push(key)
        }
      }
      let released = false
      return {
        mine,
        elsewhere: [...elsewhere].map(([owner, group]) => ({
          keys: group,
          missing: owner.then((delivered) => {
            if (delivered === undefined) return group
            const brought = new Set(delivered.map(idOf))
            return group.filter((key) => !brought.has(idOf(key)))
          }),
        })),
        release(delivered) {
          // Stryker disable next-line ConditionalExpression: equivalent, a second release finds none of its ids mapped to it (the check below)
          if (released) return
          // Stryker disable next-line BooleanLiteral: equivalent, a second release finds none of its ids mapped to it (the check below)
          released = true
          // Stryker disable next-line ConditionalExpression: equivalent, the released flag stops a second release, and until then every id maps to this claim
          for (const id of mineIds) if (inFlight.get(id) === me) inFlight.delete(id)
          settle(delivered === undefined ? undefined : [...delivered])
        },
      }
    },
    get size() {
      return inFlight.size
    },
  }
}
