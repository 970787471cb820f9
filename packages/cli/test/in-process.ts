import { type Io, main } from '@provsync/cli'

/** What one in-process run of `provsync` printed, and its exit code. */
export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the command line in this process (no binary) in `cwd`, with `env` as its environment. */
export async function runMain(
  argv: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<RunResult> {
  let stdout = ''
  let stderr = ''
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    cwd,
  }
  const code = await main(argv, io)
  return { code, stdout, stderr }
}
