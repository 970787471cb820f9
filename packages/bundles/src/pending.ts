/**
 * The import journal: `<registry>.pending` names the bundle whose import began committing and has
 * not finished. While it exists, no other bundle is imported; importing the named bundle again
 * re-verifies it and applies it whole (ledger import and record applies are idempotent), so an
 * import is all-or-nothing by rolling forward.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { BundleFormatError, PendingImportError } from './errors.js'

interface Pending {
  readonly bundleHash: string
  readonly path: string
}

export function pendingPath(registry: string): string {
  return `${registry}.pending`
}

export async function readPending(registry: string): Promise<Pending | undefined> {
  let text: string
  try {
    text = await readFile(pendingPath(registry), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const value = JSON.parse(text) as Pending
    if (typeof value.bundleHash === 'string' && typeof value.path === 'string') return value
  } catch {}
  throw new BundleFormatError(`${pendingPath(registry)} is not an import journal`)
}

/** Refuses another bundle while one is pending; returns whether this import completes a pending one. */
export async function checkPending(registry: string, bundleHash: string): Promise<boolean> {
  const pending = await readPending(registry)
  if (pending === undefined) return false
  if (pending.bundleHash !== bundleHash) throw new PendingImportError(pending.bundleHash, pending.path)
  return true
}

export async function markPending(registry: string, bundleHash: string, path: string): Promise<void> {
  const file = pendingPath(registry)
  await writeFile(`${file}.tmp`, JSON.stringify({ bundleHash, path }))
  await rename(`${file}.tmp`, file)
}

export async function clearPending(registry: string): Promise<void> {
  await rm(pendingPath(registry), { force: true })
}
