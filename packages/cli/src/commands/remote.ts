import type { ParsedArgs } from '../args.js'
import { callNode } from '../control/client.js'
import { type Io, terminalProgress } from '../io.js'
import { dataDirOf } from './command.js'

/** Sends one request to the node of `--data-dir`, showing its progress events on a terminal. */
export async function ask<T>(args: ParsedArgs, io: Io, method: string, params: unknown = {}): Promise<T> {
  const progress = terminalProgress(io.stderr)
  try {
    return (await callNode(dataDirOf(args, io), method, params, {
      onProgress: (event) => progress.update(event.stage, event.done, event.total),
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
    })) as T
  } finally {
    progress.end()
  }
}
