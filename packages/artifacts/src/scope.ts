import { InvalidScopeError } from './errors.js'

export const MAX_SCOPE_SEGMENTS = 8
export const MAX_SEGMENT_LENGTH = 64
/** Longest scope text: 8 segments of 64 characters and 7 slashes. */
export const MAX_SCOPE_LENGTH = MAX_SCOPE_SEGMENTS * (MAX_SEGMENT_LENGTH + 1) - 1
const SEGMENT = /^[a-z0-9._-]{1,64}$/

/** Throws InvalidScopeError unless `scope` is 1-8 segments of 1-64 of `a-z 0-9 . _ -`, joined by `/`. */
export function checkScope(scope: string): string {
  if (typeof scope !== 'string') throw new InvalidScopeError(String(scope), 'not a string')
  if (scope.length > MAX_SCOPE_LENGTH) throw new InvalidScopeError(scope, 'too long')
  const segments = scope.split('/')
  if (segments.length > MAX_SCOPE_SEGMENTS) {
    throw new InvalidScopeError(scope, `${segments.length} segments, at most ${MAX_SCOPE_SEGMENTS}`)
  }
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) {
      throw new InvalidScopeError(scope, `segment ${JSON.stringify(segment)} is not 1-64 of a-z 0-9 . _ -`)
    }
  }
  return scope
}

export function isScope(scope: string): boolean {
  try {
    checkScope(scope)
    return true
  } catch {
    return false
  }
}

/** A prefix covers itself and every scope below it (segment-wise: `a/b` covers `a/b/c`, not `a/bc`). */
export function covers(prefix: string, scope: string): boolean {
  return (
    scope === prefix ||
    (scope.length > prefix.length && scope.startsWith(prefix) && scope[prefix.length] === '/')
  )
}

export function coveredByAny(prefixes: Iterable<string>, scope: string): boolean {
  for (const prefix of prefixes) if (covers(prefix, scope)) return true
  return false
}
