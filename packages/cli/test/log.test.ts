import { describe, expect, it } from 'vitest'
import { createLog } from '../src/log.js'

const at = () => new Date('2026-12-06T05:00:00.000Z')

function capture() {
  const lines: string[] = []
  return { out: { write: (text: string) => lines.push(text) }, lines }
}

describe('node logs', () => {
  it('json: one object per line with time, level, message and the event fields', () => {
    const { out, lines } = capture()
    const log = createLog(out, 'info', 'json', at)
    log.warn('offence by p: bad-signature (x)', { event: 'offence', peer: 'p', reason: 'bad-signature' })
    log.debug('dropped below the level')
    expect(lines).toHaveLength(1)
    expect(lines[0]!.endsWith('\n')).toBe(true)
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-12-06T05:00:00.000Z',
      level: 'warn',
      msg: 'offence by p: bad-signature (x)',
      event: 'offence',
      peer: 'p',
      reason: 'bad-signature',
    })
  })

  it('text: time, level and message on one line, the same events', () => {
    const { out, lines } = capture()
    createLog(out, 'debug', 'text', at).info('stopping', { event: 'stop' })
    expect(lines).toEqual(['2026-12-06T05:00:00.000Z info  stopping\n'])
  })
})
