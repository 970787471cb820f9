/**
 * Frozen vectors of the hello and welcome naming record kinds (`v2/kinds.json`): the field a node
 * uses to say which records beyond the first release's it accepts. The first release's generated
 * decoder (kept verbatim as a fixture) skips it, so such a hello reads there as it always did.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeMessage } from '../../packages/sync/src/wire/codec.js'
import { Frame as ReleaseOneFrame } from '../../packages/sync/test/fixtures/sync-release1.generated.js'
import { buildSyncKindsVectors, type SyncVectors, toPlain, unhex } from './build.js'

const here = new URL('.', import.meta.url).pathname
const kinds = JSON.parse(readFileSync(join(here, 'v2/kinds.json'), 'utf8')) as Pick<SyncVectors, 'frames'>
const BUMP = 'protocol change: bump the version'

describe('frozen sync vectors (record kinds in hello and welcome)', () => {
  it('the frames are the committed ones and decode back to their fields', () => {
    expect(buildSyncKindsVectors(), `${BUMP}: hello or welcome naming kinds changed`).toEqual(kinds)
    for (const frame of kinds.frames) {
      expect(toPlain(decodeMessage(unhex(frame.hex)))).toEqual(frame.fields)
    }
  })

  it('kinds are hello field 6 and welcome field 4, after every earlier field', () => {
    const hello = kinds.frames.find((f) => f.name === 'hello-stores-credential-kinds')!
    const welcome = kinds.frames.find((f) => f.name === 'welcome-stores-credential-kinds')!
    // 0x32 = field 6, length-delimited; 0x22 = field 4. The kinds come last in each body.
    expect(hello.hex.endsWith(`32${'0c'}${Buffer.from('assertion/v2').toString('hex')}`)).toBe(true)
    expect(welcome.hex.endsWith(`22${'0c'}${Buffer.from('assertion/v2').toString('hex')}`)).toBe(true)
  })

  it('a first-release node decodes them as the hello and welcome it knows, skipping the kinds', () => {
    for (const frame of kinds.frames) {
      const old = ReleaseOneFrame.decode(unhex(frame.hex))
      const fields = frame.fields as { type: string; networkId?: string; version: number }
      if (fields.type === 'hello') {
        expect(old.hello?.networkId).toBe(fields.networkId)
        expect(old.hello?.version).toBe(fields.version)
        expect(Object.keys(old.hello ?? {}).sort()).toEqual(['networkId', 'trustHash', 'version'])
      } else {
        expect(old.welcome).toEqual({ version: fields.version })
      }
    }
  })
})
