import type { StoreName } from './state.js'
import { toHex } from './trust.js'

/**
 * Records this node is pulling right now, across all its sessions. Sessions with several peers at
 * once (announcements from many, pulls the peers start themselves) find mostly the same missing
 * records; each is fetched, verified and applied once, by the session that claimed it first. The
 * others wait for that session and fetch only what it failed to bring.
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
  /** Keys other sessions are pulling, grouped by session: `settled` is true if that pull completed. */
  readonly elsewhere: ReadonlyArray<{ keys: Uint8Array[]; settled: Promise<boolean> }>
  /** Ends the claim on `mine` once pulled (`ok`) or abandoned; waiting sessions then go on. */
  release(ok: boolean): void
}

interface Owner {
  settled: Promise<boolean>
  resolve(ok: boolean): void
}

export function createPullClaims(): PullClaims {
  const inFlight = new Map<string, Owner>()
  return {
    claim(store, keys) {
      let resolve: (ok: boolean) => void = () => {}
      const settled = new Promise<boolean>((r) => {
        resolve = r
      })
      const me: Owner = { settled, resolve }
      const mine: Uint8Array[] = []
      const mineIds: string[] = []
      const elsewhere = new Map<Owner, Uint8Array[]>()
      for (const key of keys) {
        const id = `${store}/${toHex(key)}`
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
        elsewhere: [...elsewhere].map(([owner, group]) => ({ keys: group, settled: owner.settled })),
        release(ok) {
          if (released) return
          released = true
          for (const id of mineIds) if (inFlight.get(id) === me) inFlight.delete(id)
          resolve(ok)
        },
      }
    },
    get size() {
      return inFlight.size
    },
  }
}
