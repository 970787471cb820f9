#!/usr/bin/env node
// The `provsync` command's entry point. It is committed (not built) so that `npm install` links
// the bin on a fresh clone, before dist/ exists; it checks the Node version with syntax every
// Node understands, then runs the built CLI, or says how to build it.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(`provsync: needs Node 22 or later, this is Node ${process.versions.node}\n`)
  process.exit(5)
}
const target = new URL('../dist/bin.js', import.meta.url)
try {
  await import(target.href)
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes(target.pathname)) throw err
  process.stderr.write('provsync: the CLI is not built yet; run `npm run build` in the checkout first\n')
  process.exit(5)
}
