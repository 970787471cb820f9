import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { assertBuilt } from './helpers.js'

// Every example is run as a newcomer would run it (tsx, against the built packages) and must
// exit 0 and tell its story; `npm start` is the first of them.
const root = fileURLToPath(new URL('../../', import.meta.url))
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url))

function runExample(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsx, `examples/${name}.ts`], { cwd: root })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('examples', () => {
  assertBuilt()

  it('quickstart plays out convergence, revocation and fall-back', async () => {
    const { code, stdout, stderr } = await runExample('quickstart')
    expect(code, stderr).toBe(0)
    expect(stdout).toMatch(/west {5}view: run 3, asserted by verifier( via east)?\n/)
    expect(stdout).toMatch(/east {5}view: run 99, asserted by mallory/)
    expect(stdout).toMatch(/east gate for run 99: ALLOW, on the evidence: asserted by mallory/)
    expect(stdout).toMatch(/ledger #1 on verifier: invalidated 1 record/)
    expect(stdout).toMatch(
      /west {5}view: run 3, asserted by verifier( via east)? {2}\(revocation pulled from \w+\)/,
    )
    expect(stdout).toMatch(/east gate for run 99: REFUSE/)
    expect(stdout).toMatch(/east gate for run 3: {2}ALLOW, on the evidence: asserted by verifier at run 3/)
    expect(stdout).toMatch(/the story played out/)
  })

  it('embed syncs two libp2p nodes that embed the service', async () => {
    const { code, stdout } = await runExample('embed')
    expect(code).toBe(0)
    expect(stdout).toMatch(/sees run 7, asserted by a: true/)
  })

  it('offload-gate deletes the local copy only with two asserters', async () => {
    const { code, stdout } = await runExample('offload-gate')
    expect(code).toBe(0)
    expect(stdout).toMatch(/one asserter: {2}REFUSE .*\n {15}local copy kept: true/)
    expect(stdout).toMatch(/two asserters: ALLOW .*\n {15}local copy deleted: true/)
  })
})
