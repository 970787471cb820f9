// The vitest configuration of `scripts/mixed-previous.sh`: the repository's, with only the tests
// that need another release's build (`test/mixed/*.mixed.ts`, not part of `npm test`).
import { defineConfig } from 'vitest/config'
import base from '../vitest.config.ts'

export default defineConfig({ ...base, test: { ...base.test, include: ['test/mixed/*.mixed.ts'] } })
