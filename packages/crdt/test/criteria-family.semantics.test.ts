// The family criterion (networked invalidation by artifact family, issue #18 run K survivors):
// it matches exactly the records of that family, never a record without one, and its validation
// names the argument. Pure: compileCriteria and validateCriteria only.
import { compileCriteria, InvalidArgumentError } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import { validateCriteria } from '../src/criteria.js'
import { hlc, signerN } from './helpers.js'

const base = { signer: signerN(1).publicKey, hlc: hlc(10), keyText: 'photos/s3/laptop' }

describe('criteria: family', () => {
  it('matches exactly the records of that family; a record without a family matches none', () => {
    const raw = compileCriteria({ type: 'family', family: 'raw' })
    const matches = [
      { ...base, family: 'raw' },
      { ...base, family: 'jpeg' },
      { ...base, family: 'RAW' },
      { ...base, family: 'raw ' },
      base,
    ].map((r) => raw(r))
    expect(matches).toEqual([true, false, false, false, false])
    expect(compileCriteria({ type: 'family', family: 'jpeg' })({ ...base, family: 'jpeg' })).toBe(true)
  })

  it.each([
    ['an empty family', ''],
    ['a family that is not a string', 7],
    ['a family over the bound', 'f'.repeat(257)],
  ])('refuses %s, naming criteria.family', (_, family) => {
    let caught: unknown
    try {
      validateCriteria({ type: 'family', family } as never)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError)
    expect((caught as InvalidArgumentError).argument).toBe('criteria.family')
    expect((caught as Error).message.startsWith('criteria.family: ')).toBe(true)
  })
})
