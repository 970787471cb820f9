import { describe, expect, it } from 'vitest'
import { asError, RefusedError, UnexpectedEndError } from '../src/errors.js'

describe('asError (a failed session always reports an Error)', () => {
  it('keeps an Error as it is', () => {
    const err = new RefusedError('unknown', 'no')
    expect(asError(err)).toBe(err)
  })

  it.each([undefined, null, 'gone', 7])('turns %s into an UnexpectedEndError naming the value', (value) => {
    const err = asError(value)
    expect(err).toBeInstanceOf(UnexpectedEndError)
    expect(err.message).toBe(`session ended by a non-error value (${String(value)})`)
  })
})
