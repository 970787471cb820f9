import { assertOwnEvidence, getAssertion, readEvidence, WorkingEntries } from './assertions.js'
import { copyBytes } from './bytes.js'
import { type Coordinate, encodeCoordinate, formatCoordinate } from './codec/coordinate.js'
import { assertRun } from './codec/records.js'
import { admissible, type Context, isRevoked, type StoreName } from './context.js'
import { historyWriter, publicEntry, readCoordinateEntry, recompute } from './durability.js'
import { InvalidArgumentError } from './errors.js'
import { decideGate } from './gate.js'
import { assertionKey, coordinateId, isPublicKey } from './keys.js'
import { copyEvidence } from './persisted.js'
import type { AppliedBatch, NodeState } from './state.js'
import type { AssertionEvidence, LocalEvidence } from './view.js'

/**
 * A node state's durability evidence: recording this node's own verifications
 * (`advanceVerified`), the assertions it holds, and the gate over both.
 */
export function createEvidenceApi(
  ctx: Context,
  hooks: { checkOpen(): void; notify(store: StoreName): void; applied?(batch: AppliedBatch): void },
): Pick<NodeState, 'advanceVerified' | 'assertions' | 'gate'> {
  const { dbs, signer } = ctx
  const { checkOpen, notify } = hooks

  function localEvidence(coordId: Uint8Array): LocalEvidence | undefined {
    return readCoordinateEntry(ctx, coordId)?.local
  }

  function admissibleEvidence(coordinate: Coordinate): AssertionEvidence[] {
    const keyText = formatCoordinate(coordinate)
    return readEvidence(ctx, coordinateId(coordinate)).filter((e) =>
      admissible(ctx, { signer: e.asserter, hlc: e.hlc, keyText }),
    )
  }

  return {
    advanceVerified(coordinate, runId, advanceOptions = {}) {
      checkOpen()
      assertRun(runId)
      const coordinateBytes = encodeCoordinate(coordinate)
      const coordId = coordinateId(coordinate)
      const method = advanceOptions.method ?? 'local'
      const { evidence } = advanceOptions
      if (evidence !== undefined && !(evidence instanceof Uint8Array && evidence.length === 32))
        throw new InvalidArgumentError('evidence', 'must be a 32-byte blob id')
      const key = assertionKey(signer.publicKey, coordinate)
      const result = ctx.write(() => {
        // The coordinate's entry is read once; recompute leaves the new component in it.
        const working = new WorkingEntries(ctx)
        const target = working.load(coordId, coordinateBytes)
        const current = target.entry.local
        if (current !== undefined && current.run >= runId) {
          const { local, component } = publicEntry(target.entry)
          return { status: 'superseded' as const, local: local!, component, key, changed: false }
        }
        const hlc = ctx.clock.now()
        const local: LocalEvidence = { run: runId, hlc }
        let changed = false
        // A revoked node still keeps its own evidence, but peers would refuse its assertion: it is
        // withheld until the key is reinstated (see assertWithheldEvidence).
        if (isRevoked(ctx, signer.publicKey)) dbs.unasserted.put(coordId, method)
        else {
          const fields = {
            coordinate,
            run: runId,
            method,
            hlc,
            ...(evidence === undefined ? {} : { evidence }),
          }
          const merged = assertOwnEvidence(ctx, working, fields)
          working.finish()
          if (merged.change !== undefined) {
            ctx.trees.assertions.update([merged.change])
            changed = true
          }
        }
        const history = historyWriter(ctx)
        recompute(ctx, coordId, { type: 'local' }, history, { working: target.entry, local })
        history.finish()
        return {
          status: 'applied' as const,
          local,
          component: publicEntry(target.entry).component,
          key,
          changed,
        }
      })
      if (result.changed) {
        notify('assertions')
        const bytes = dbs.asRecords.get(key)
        if (bytes !== undefined)
          hooks.applied?.({
            store: 'assertions',
            from: signer.publicKey,
            records: [{ key, bytes: copyBytes(bytes) }],
          })
      }
      const { changed: _changed, ...out } = result
      return out
    },
    assertions: {
      get(asserter, coordinate) {
        checkOpen()
        if (!isPublicKey(asserter)) throw new InvalidArgumentError('asserter', 'must be a 32-byte public key')
        return getAssertion(ctx, assertionKey(asserter, coordinate))
      },
      evidence(coordinate) {
        checkOpen()
        return readEvidence(ctx, coordinateId(coordinate)).map(copyEvidence)
      },
    },
    gate(coordinate, runId, policy = { type: 'any' }, gateOptions = {}) {
      checkOpen()
      const coordId = coordinateId(coordinate)
      return decideGate({
        ...gateOptions,
        coordinate,
        run: runId,
        policy,
        local: localEvidence(coordId),
        assertions: admissibleEvidence(coordinate),
      })
    },
  }
}
