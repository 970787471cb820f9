import { rmSync } from 'node:fs'
import { blake3 } from '@noble/hashes/blake3.js'
import { hex, tempDir } from '@provsync/testing'
import fc from 'fast-check'
import { open, type RootDatabase } from 'lmdb'
import { afterAll, beforeAll } from 'vitest'

export interface TempEnv {
  readonly path: string
  env: RootDatabase
  reopen(): Promise<RootDatabase>
  cleanup(): Promise<void>
}

/** A real LMDB environment in a fresh temp directory; `cleanup` closes it and deletes the files. */
export function tempEnv(): TempEnv {
  const path = tempDir('provsync-merkle-')
  const openEnv = () => open({ path, maxDbs: 2000 })
  const temp: TempEnv = {
    path,
    env: openEnv(),
    async reopen() {
      await temp.env.close()
      temp.env = openEnv()
      return temp.env
    },
    async cleanup() {
      await temp.env.close()
      rmSync(path, { recursive: true, force: true })
    },
  }
  return temp
}

/** One {@link tempEnv} for a whole test file: opened before its tests, deleted after them. */
export function useTempEnv(): Pick<TempEnv, 'env' | 'reopen'> {
  let temp: TempEnv | undefined
  beforeAll(() => {
    temp = tempEnv()
  })
  afterAll(async () => {
    await temp?.cleanup()
  })
  const current = (): TempEnv => {
    if (temp === undefined) throw new Error('useTempEnv: the environment opens in beforeAll')
    return temp
  }
  return {
    get env() {
      return current().env
    },
    reopen: () => current().reopen(),
  }
}

let counter = 0
export const uniqueName = (prefix = 't'): string => `${prefix}${++counter}`

export const hashOf = (text: string): Uint8Array => blake3(new TextEncoder().encode(text))

export { hex } from '@provsync/testing'

/** Keys drawn from a small alphabet so collisions (replace, delete of present keys) are common. */
export const arbKey = fc.integer({ min: 0, max: 400 }).map((n) => new TextEncoder().encode(`key-${n}`))
export const arbValue = fc.integer({ min: 0, max: 3 }).map((n) => hashOf(`v${n}`))
export const arbHashKey = fc.uint8Array({ minLength: 32, maxLength: 32 })

/** A session result's three key lists as hex, in the order the session gives them. */
export function hexResult(result: {
  localOnly: Uint8Array[]
  remoteOnly: Uint8Array[]
  differing: Uint8Array[]
}) {
  return {
    localOnly: result.localOnly.map(hex),
    remoteOnly: result.remoteOnly.map(hex),
    differing: result.differing.map(hex),
  }
}
