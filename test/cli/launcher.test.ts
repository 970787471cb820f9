import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8'))
const launcher = join(root, 'packages/cli', pkg.bin.provsync)
const temp = mkdtempSync(join(tmpdir(), 'provsync-launcher-'))
afterAll(() => rmSync(temp, { recursive: true, force: true }))

// Bug 2: on a fresh clone the bin pointed into dist/, which did not exist at install time, so npm
// made no link and `npx provsync` asked the registry. The bin is now a committed launcher.
describe('the provsync launcher', () => {
  it('is a committed file outside dist/, so npm links it at install time', () => {
    expect(pkg.bin.provsync).not.toMatch(/dist/)
    const tracked = execFileSync('git', ['ls-files', '--error-unmatch', launcher], { cwd: root }).toString()
    expect(tracked.trim()).toBe('packages/cli/bin/provsync.js')
  })

  it('says to build first when dist/ is missing, in one line, exit 5', () => {
    mkdirSync(join(temp, 'bin'))
    copyFileSync(launcher, join(temp, 'bin', 'provsync.js'))
    const run = spawnSync(process.execPath, [join(temp, 'bin', 'provsync.js'), '--help'])
    expect(run.status).toBe(5)
    expect(run.stderr.toString()).toBe(
      'provsync: the CLI is not built yet; run `npm run build` in the checkout first\n',
    )
  })

  it('refuses an older Node with one line instead of a libp2p stack trace', () => {
    const older = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.1.0"})'
    const run = spawnSync(process.execPath, ['--import', older, launcher, '--help'])
    expect(run.status).toBe(5)
    expect(run.stderr.toString()).toBe('provsync: needs Node 22 or later, this is Node 20.1.0\n')
  })

  it('runs the built CLI', () => {
    const run = spawnSync(process.execPath, [launcher, '--version'])
    expect(run.status).toBe(0)
    expect(run.stdout.toString().trim()).toBe(`provsync ${pkg.version}`)
  })
})
