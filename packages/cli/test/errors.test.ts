import {
  CliError,
  ExitCode,
  errorLine,
  exitCodeOf,
  KeyFileError,
  NodeRunningError,
  NoNodeError,
  RequestFailedError,
  UsageError,
} from '@provsync/cli'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

describe('error conventions', () => {
  it('gives each failure its documented exit status', () => {
    expect(exitCodeOf(new UsageError('provsync x', 'bad'))).toBe(ExitCode.usage)
    expect(exitCodeOf(new NoNodeError('/d'))).toBe(ExitCode.noNode)
    expect(exitCodeOf(new RequestFailedError('RecordRefusedError', 'no'))).toBe(ExitCode.requestFailed)
    expect(exitCodeOf(new NodeRunningError('/d'))).toBe(ExitCode.failure)
    expect(exitCodeOf(new KeyFileError('/k', 'missing'))).toBe(ExitCode.failure)
    expect(exitCodeOf(new Error('boom'))).toBe(ExitCode.failure)
    expect(new Set(Object.values(ExitCode)).size).toBe(Object.keys(ExitCode).length)
  })

  it('names classes after themselves', () => {
    expect(new NoNodeError('/d').name).toBe('NoNodeError')
    expect(new UsageError('c', 'm').name).toBe('UsageError')
    expect(new NoNodeError('/d')).toBeInstanceOf(CliError)
  })

  it('says where no node runs and how to start one', () => {
    expect(errorLine(new NoNodeError('/tmp/x'))).toBe(
      'no node running at /tmp/x (start one with: provsync node --data-dir /tmp/x)',
    )
  })

  it('reports any error as exactly one non-empty line', () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), fc.boolean(), (message, ours, thrownAsError) => {
        const err = ours ? new CliError(message) : thrownAsError ? new TypeError(message) : message
        const line = errorLine(err)
        expect(line).not.toMatch(/[\r\n]/)
        expect(line.length).toBeGreaterThan(0)
      }),
    )
  })

  it('prefixes errors that are not ours with their class name', () => {
    expect(errorLine(new TypeError('bad thing\nat stack'))).toBe('TypeError: bad thing')
  })
})
