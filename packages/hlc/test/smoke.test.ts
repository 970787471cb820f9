import { hello } from '@provsync/hlc'
import { expect, test } from 'vitest'

test('x', () => {
  expect(hello).toBe(1)
})
