#!/usr/bin/env node
import { StopRequestedError } from './errors.js'
import { processIo } from './io.js'
import { main } from './main.js'

// SIGINT/SIGTERM abort the running command (a node stops cleanly); a second signal exits at once.
const stop = new AbortController()
const onSignal = (signal: NodeJS.Signals): void => {
  if (stop.signal.aborted) process.exit(130)
  stop.abort(new StopRequestedError(signal))
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

const code = await main(process.argv.slice(2), processIo(stop.signal))
// Exit as soon as the command is done and its output flushed: a module loaded for the node
// (libp2p, LMDB) may hold a handle that would otherwise keep a finished command alive.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
