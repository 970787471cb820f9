/* eslint-disable require-yield */

import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Hello {
  networkId: string
  trustHash: Uint8Array<ArrayBuffer>
  version: number
  stores: string[]
  credential: Uint8Array<ArrayBuffer>
  kinds: string[]
}

export namespace Hello {
  let _codec: Codec<Hello>

  export const codec = (): Codec<Hello> => {
    if (_codec == null) {
      _codec = message<Hello>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.networkId != null && obj.networkId !== '')) {
          w.uint32(10)
          w.string(obj.networkId)
        }

        if ((obj.trustHash != null && obj.trustHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.trustHash)
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(24)
          w.uint32(obj.version)
        }

        if (obj.stores != null && obj.stores.length > 0) {
          for (const value of obj.stores) {
            w.uint32(34)
            w.string(value)
          }
        }

        if ((obj.credential != null && obj.credential.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.credential)
        }

        if (obj.kinds != null && obj.kinds.length > 0) {
          for (const value of obj.kinds) {
            w.uint32(50)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          networkId: '',
          trustHash: uint8ArrayAlloc(0),
          version: 0,
          stores: [],
          credential: uint8ArrayAlloc(0),
          kinds: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.networkId = reader.string()
              break
            }
            case 2: {
              obj.trustHash = reader.bytes()
              break
            }
            case 3: {
              obj.version = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.stores != null && obj.stores.length === opts.limits.stores) {
                throw new MaxLengthError('Decode error - repeated field "stores" had too many elements')
              }

              obj.stores.push(reader.string())
              break
            }
            case 5: {
              obj.credential = reader.bytes()
              break
            }
            case 6: {
              if (opts.limits?.kinds != null && obj.kinds.length === opts.limits.kinds) {
                throw new MaxLengthError('Decode error - repeated field "kinds" had too many elements')
              }

              obj.kinds.push(reader.string())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          stores: 0,
          kinds: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.networkId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.trustHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.stores != null && obj.stores === opts.limits.stores) {
                throw new MaxLengthError('Streaming decode error - repeated field "stores" had too many elements')
              }

              yield {
                field: `${prefix}.stores[]`,
                index: obj.stores,
                value: reader.string()
              }

              obj.stores++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.credential`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              if (opts.limits?.kinds != null && obj.kinds === opts.limits.kinds) {
                throw new MaxLengthError('Streaming decode error - repeated field "kinds" had too many elements')
              }

              yield {
                field: `${prefix}.kinds[]`,
                index: obj.kinds,
                value: reader.string()
              }

              obj.kinds++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface HelloNetworkIdFieldEvent {
    field: '$.networkId'
    value: string
  }

  export interface HelloTrustHashFieldEvent {
    field: '$.trustHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface HelloStoresFieldEvent {
    field: '$.stores[]'
    index: number
    value: string
  }

  export interface HelloCredentialFieldEvent {
    field: '$.credential'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloKindsFieldEvent {
    field: '$.kinds[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<Hello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Hello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Hello {
    return decodeMessage(buf, Hello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Generator<HelloNetworkIdFieldEvent | HelloTrustHashFieldEvent | HelloVersionFieldEvent | HelloStoresFieldEvent | HelloCredentialFieldEvent | HelloKindsFieldEvent> {
    return streamMessage(buf, Hello.codec(), opts)
  }
}

export interface Welcome {
  version: number
  stores: string[]
  credential: Uint8Array<ArrayBuffer>
  kinds: string[]
}

export namespace Welcome {
  let _codec: Codec<Welcome>

  export const codec = (): Codec<Welcome> => {
    if (_codec == null) {
      _codec = message<Welcome>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.stores != null && obj.stores.length > 0) {
          for (const value of obj.stores) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.credential != null && obj.credential.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.credential)
        }

        if (obj.kinds != null && obj.kinds.length > 0) {
          for (const value of obj.kinds) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          stores: [],
          credential: uint8ArrayAlloc(0),
          kinds: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              if (opts.limits?.stores != null && obj.stores.length === opts.limits.stores) {
                throw new MaxLengthError('Decode error - repeated field "stores" had too many elements')
              }

              obj.stores.push(reader.string())
              break
            }
            case 3: {
              obj.credential = reader.bytes()
              break
            }
            case 4: {
              if (opts.limits?.kinds != null && obj.kinds.length === opts.limits.kinds) {
                throw new MaxLengthError('Decode error - repeated field "kinds" had too many elements')
              }

              obj.kinds.push(reader.string())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          stores: 0,
          kinds: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              if (opts.limits?.stores != null && obj.stores === opts.limits.stores) {
                throw new MaxLengthError('Streaming decode error - repeated field "stores" had too many elements')
              }

              yield {
                field: `${prefix}.stores[]`,
                index: obj.stores,
                value: reader.string()
              }

              obj.stores++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.credential`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              if (opts.limits?.kinds != null && obj.kinds === opts.limits.kinds) {
                throw new MaxLengthError('Streaming decode error - repeated field "kinds" had too many elements')
              }

              yield {
                field: `${prefix}.kinds[]`,
                index: obj.kinds,
                value: reader.string()
              }

              obj.kinds++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface WelcomeVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface WelcomeStoresFieldEvent {
    field: '$.stores[]'
    index: number
    value: string
  }

  export interface WelcomeCredentialFieldEvent {
    field: '$.credential'
    value: Uint8Array<ArrayBuffer>
  }

  export interface WelcomeKindsFieldEvent {
    field: '$.kinds[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<Welcome>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Welcome.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Welcome>): Welcome {
    return decodeMessage(buf, Welcome.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Welcome>): Generator<WelcomeVersionFieldEvent | WelcomeStoresFieldEvent | WelcomeCredentialFieldEvent | WelcomeKindsFieldEvent> {
    return streamMessage(buf, Welcome.codec(), opts)
  }
}

export interface Refusal {
  code: string
  message: string
  store: string
}

export namespace Refusal {
  let _codec: Codec<Refusal>

  export const codec = (): Codec<Refusal> => {
    if (_codec == null) {
      _codec = message<Refusal>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(10)
          w.string(obj.code)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if ((obj.store != null && obj.store !== '')) {
          w.uint32(26)
          w.string(obj.store)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: '',
          message: '',
          store: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = reader.string()
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.store = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.code`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.store`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RefusalCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export interface RefusalMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface RefusalStoreFieldEvent {
    field: '$.store'
    value: string
  }

  export function encode (obj: Partial<Refusal>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Refusal.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Refusal {
    return decodeMessage(buf, Refusal.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Generator<RefusalCodeFieldEvent | RefusalMessageFieldEvent | RefusalStoreFieldEvent> {
    return streamMessage(buf, Refusal.codec(), opts)
  }
}

export interface Reconcile {
  store: string
  payload: Uint8Array<ArrayBuffer>
}

export namespace Reconcile {
  let _codec: Codec<Reconcile>

  export const codec = (): Codec<Reconcile> => {
    if (_codec == null) {
      _codec = message<Reconcile>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.store != null && obj.store !== '')) {
          w.uint32(10)
          w.string(obj.store)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.payload)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          store: '',
          payload: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.store = reader.string()
              break
            }
            case 2: {
              obj.payload = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.store`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ReconcileStoreFieldEvent {
    field: '$.store'
    value: string
  }

  export interface ReconcilePayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Reconcile>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Reconcile.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reconcile>): Reconcile {
    return decodeMessage(buf, Reconcile.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reconcile>): Generator<ReconcileStoreFieldEvent | ReconcilePayloadFieldEvent> {
    return streamMessage(buf, Reconcile.codec(), opts)
  }
}

export interface Offer {
  store: string
  keys: Uint8Array<ArrayBuffer>[]
  last: boolean
}

export namespace Offer {
  let _codec: Codec<Offer>

  export const codec = (): Codec<Offer> => {
    if (_codec == null) {
      _codec = message<Offer>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.store != null && obj.store !== '')) {
          w.uint32(10)
          w.string(obj.store)
        }

        if (obj.keys != null && obj.keys.length > 0) {
          for (const value of obj.keys) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if ((obj.last != null && obj.last !== false)) {
          w.uint32(24)
          w.bool(obj.last)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          store: '',
          keys: [],
          last: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.store = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.keys != null && obj.keys.length === opts.limits.keys) {
                throw new MaxLengthError('Decode error - repeated field "keys" had too many elements')
              }

              obj.keys.push(reader.bytes())
              break
            }
            case 3: {
              obj.last = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          keys: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.store`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.keys != null && obj.keys === opts.limits.keys) {
                throw new MaxLengthError('Streaming decode error - repeated field "keys" had too many elements')
              }

              yield {
                field: `${prefix}.keys[]`,
                index: obj.keys,
                value: reader.bytes()
              }

              obj.keys++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.last`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface OfferStoreFieldEvent {
    field: '$.store'
    value: string
  }

  export interface OfferKeysFieldEvent {
    field: '$.keys[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface OfferLastFieldEvent {
    field: '$.last'
    value: boolean
  }

  export function encode (obj: Partial<Offer>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Offer.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Offer {
    return decodeMessage(buf, Offer.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Generator<OfferStoreFieldEvent | OfferKeysFieldEvent | OfferLastFieldEvent> {
    return streamMessage(buf, Offer.codec(), opts)
  }
}

export interface Pulled {
  store: string
  applied: number
  refused: number
}

export namespace Pulled {
  let _codec: Codec<Pulled>

  export const codec = (): Codec<Pulled> => {
    if (_codec == null) {
      _codec = message<Pulled>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.store != null && obj.store !== '')) {
          w.uint32(10)
          w.string(obj.store)
        }

        if ((obj.applied != null && obj.applied !== 0)) {
          w.uint32(16)
          w.uint32(obj.applied)
        }

        if ((obj.refused != null && obj.refused !== 0)) {
          w.uint32(24)
          w.uint32(obj.refused)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          store: '',
          applied: 0,
          refused: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.store = reader.string()
              break
            }
            case 2: {
              obj.applied = reader.uint32()
              break
            }
            case 3: {
              obj.refused = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.store`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.applied`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.refused`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PulledStoreFieldEvent {
    field: '$.store'
    value: string
  }

  export interface PulledAppliedFieldEvent {
    field: '$.applied'
    value: number
  }

  export interface PulledRefusedFieldEvent {
    field: '$.refused'
    value: number
  }

  export function encode (obj: Partial<Pulled>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Pulled.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Pulled>): Pulled {
    return decodeMessage(buf, Pulled.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Pulled>): Generator<PulledStoreFieldEvent | PulledAppliedFieldEvent | PulledRefusedFieldEvent> {
    return streamMessage(buf, Pulled.codec(), opts)
  }
}

export interface FetchRequest {
  store: string
  keys: Uint8Array<ArrayBuffer>[]
}

export namespace FetchRequest {
  let _codec: Codec<FetchRequest>

  export const codec = (): Codec<FetchRequest> => {
    if (_codec == null) {
      _codec = message<FetchRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.store != null && obj.store !== '')) {
          w.uint32(10)
          w.string(obj.store)
        }

        if (obj.keys != null && obj.keys.length > 0) {
          for (const value of obj.keys) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          store: '',
          keys: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.store = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.keys != null && obj.keys.length === opts.limits.keys) {
                throw new MaxLengthError('Decode error - repeated field "keys" had too many elements')
              }

              obj.keys.push(reader.bytes())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          keys: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.store`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.keys != null && obj.keys === opts.limits.keys) {
                throw new MaxLengthError('Streaming decode error - repeated field "keys" had too many elements')
              }

              yield {
                field: `${prefix}.keys[]`,
                index: obj.keys,
                value: reader.bytes()
              }

              obj.keys++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FetchRequestStoreFieldEvent {
    field: '$.store'
    value: string
  }

  export interface FetchRequestKeysFieldEvent {
    field: '$.keys[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<FetchRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, FetchRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchRequest>): FetchRequest {
    return decodeMessage(buf, FetchRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchRequest>): Generator<FetchRequestStoreFieldEvent | FetchRequestKeysFieldEvent> {
    return streamMessage(buf, FetchRequest.codec(), opts)
  }
}

export interface Records {
  records: Uint8Array<ArrayBuffer>[]
  last: boolean
  missing: number
}

export namespace Records {
  let _codec: Codec<Records>

  export const codec = (): Codec<Records> => {
    if (_codec == null) {
      _codec = message<Records>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.records != null && obj.records.length > 0) {
          for (const value of obj.records) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if ((obj.last != null && obj.last !== false)) {
          w.uint32(16)
          w.bool(obj.last)
        }

        if ((obj.missing != null && obj.missing !== 0)) {
          w.uint32(24)
          w.uint32(obj.missing)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          records: [],
          last: false,
          missing: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.records != null && obj.records.length === opts.limits.records) {
                throw new MaxLengthError('Decode error - repeated field "records" had too many elements')
              }

              obj.records.push(reader.bytes())
              break
            }
            case 2: {
              obj.last = reader.bool()
              break
            }
            case 3: {
              obj.missing = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          records: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.records != null && obj.records === opts.limits.records) {
                throw new MaxLengthError('Streaming decode error - repeated field "records" had too many elements')
              }

              yield {
                field: `${prefix}.records[]`,
                index: obj.records,
                value: reader.bytes()
              }

              obj.records++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.last`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.missing`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RecordsRecordsFieldEvent {
    field: '$.records[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface RecordsLastFieldEvent {
    field: '$.last'
    value: boolean
  }

  export interface RecordsMissingFieldEvent {
    field: '$.missing'
    value: number
  }

  export function encode (obj: Partial<Records>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Records.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Records>): Records {
    return decodeMessage(buf, Records.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Records>): Generator<RecordsRecordsFieldEvent | RecordsLastFieldEvent | RecordsMissingFieldEvent> {
    return streamMessage(buf, Records.codec(), opts)
  }
}

export interface End {}

export namespace End {
  let _codec: Codec<End>

  export const codec = (): Codec<End> => {
    if (_codec == null) {
      _codec = message<End>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export function encode (obj: Partial<End>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, End.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<End>): End {
    return decodeMessage(buf, End.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<End>): Generator<{}> {
    return streamMessage(buf, End.codec(), opts)
  }
}

export interface Frame {
  hello?: Hello
  welcome?: Welcome
  refusal?: Refusal
  reconcile?: Reconcile
  offer?: Offer
  pulled?: Pulled
  fetchRequest?: FetchRequest
  records?: Records
  end?: End
}

export namespace Frame {
  let _codec: Codec<Frame>

  export const codec = (): Codec<Frame> => {
    if (_codec == null) {
      _codec = message<Frame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        obj = { ...obj }

        if (obj.end != null) {
          obj.records = undefined
          obj.fetchRequest = undefined
          obj.pulled = undefined
          obj.offer = undefined
          obj.reconcile = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.records != null) {
          obj.end = undefined
          obj.fetchRequest = undefined
          obj.pulled = undefined
          obj.offer = undefined
          obj.reconcile = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.fetchRequest != null) {
          obj.end = undefined
          obj.records = undefined
          obj.pulled = undefined
          obj.offer = undefined
          obj.reconcile = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.pulled != null) {
          obj.end = undefined
          obj.records = undefined
          obj.fetchRequest = undefined
          obj.offer = undefined
          obj.reconcile = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.offer != null) {
          obj.end = undefined
          obj.records = undefined
          obj.fetchRequest = undefined
          obj.pulled = undefined
          obj.reconcile = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.reconcile != null) {
          obj.end = undefined
          obj.records = undefined
          obj.fetchRequest = undefined
          obj.pulled = undefined
          obj.offer = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.refusal != null) {
          obj.end = undefined
          obj.records = undefined
          obj.fetchRequest = undefined
          obj.pulled = undefined
          obj.offer = undefined
          obj.reconcile = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.welcome != null) {
          obj.end = undefined
          obj.records = undefined
          obj.fetchRequest = undefined
          obj.pulled = undefined
          obj.offer = undefined
          obj.reconcile = undefined
          obj.refusal = undefined
          obj.hello = undefined
        }

        if (obj.hello != null) {
          obj.end = undefined
          obj.records = undefined
          obj.fetchRequest = undefined
          obj.pulled = undefined
          obj.offer = undefined
          obj.reconcile = undefined
          obj.refusal = undefined
          obj.welcome = undefined
        }

        if (obj.hello != null) {
          w.uint32(10)
          Hello.codec().encode(obj.hello, w)
        }

        if (obj.welcome != null) {
          w.uint32(18)
          Welcome.codec().encode(obj.welcome, w)
        }

        if (obj.refusal != null) {
          w.uint32(26)
          Refusal.codec().encode(obj.refusal, w)
        }

        if (obj.reconcile != null) {
          w.uint32(34)
          Reconcile.codec().encode(obj.reconcile, w)
        }

        if (obj.offer != null) {
          w.uint32(42)
          Offer.codec().encode(obj.offer, w)
        }

        if (obj.pulled != null) {
          w.uint32(50)
          Pulled.codec().encode(obj.pulled, w)
        }

        if (obj.fetchRequest != null) {
          w.uint32(58)
          FetchRequest.codec().encode(obj.fetchRequest, w)
        }

        if (obj.records != null) {
          w.uint32(66)
          Records.codec().encode(obj.records, w)
        }

        if (obj.end != null) {
          w.uint32(74)
          End.codec().encode(obj.end, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.hello = Hello.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hello
              })
              break
            }
            case 2: {
              obj.welcome = Welcome.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.welcome
              })
              break
            }
            case 3: {
              obj.refusal = Refusal.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.refusal
              })
              break
            }
            case 4: {
              obj.reconcile = Reconcile.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.reconcile
              })
              break
            }
            case 5: {
              obj.offer = Offer.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.offer
              })
              break
            }
            case 6: {
              obj.pulled = Pulled.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.pulled
              })
              break
            }
            case 7: {
              obj.fetchRequest = FetchRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.fetchRequest
              })
              break
            }
            case 8: {
              obj.records = Records.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.records
              })
              break
            }
            case 9: {
              obj.end = End.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.end
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.end != null) {
          delete obj.records
          delete obj.fetchRequest
          delete obj.pulled
          delete obj.offer
          delete obj.reconcile
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.records != null) {
          delete obj.end
          delete obj.fetchRequest
          delete obj.pulled
          delete obj.offer
          delete obj.reconcile
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.fetchRequest != null) {
          delete obj.end
          delete obj.records
          delete obj.pulled
          delete obj.offer
          delete obj.reconcile
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.pulled != null) {
          delete obj.end
          delete obj.records
          delete obj.fetchRequest
          delete obj.offer
          delete obj.reconcile
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.offer != null) {
          delete obj.end
          delete obj.records
          delete obj.fetchRequest
          delete obj.pulled
          delete obj.reconcile
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.reconcile != null) {
          delete obj.end
          delete obj.records
          delete obj.fetchRequest
          delete obj.pulled
          delete obj.offer
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.refusal != null) {
          delete obj.end
          delete obj.records
          delete obj.fetchRequest
          delete obj.pulled
          delete obj.offer
          delete obj.reconcile
          delete obj.welcome
          delete obj.hello
        }

        if (obj.welcome != null) {
          delete obj.end
          delete obj.records
          delete obj.fetchRequest
          delete obj.pulled
          delete obj.offer
          delete obj.reconcile
          delete obj.refusal
          delete obj.hello
        }

        if (obj.hello != null) {
          delete obj.end
          delete obj.records
          delete obj.fetchRequest
          delete obj.pulled
          delete obj.offer
          delete obj.reconcile
          delete obj.refusal
          delete obj.welcome
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * Hello.codec().stream(reader, reader.uint32(), `${prefix}.hello`, {
                limits: opts.limits?.hello
              })

              break
            }
            case 2: {
              yield * Welcome.codec().stream(reader, reader.uint32(), `${prefix}.welcome`, {
                limits: opts.limits?.welcome
              })

              break
            }
            case 3: {
              yield * Refusal.codec().stream(reader, reader.uint32(), `${prefix}.refusal`, {
                limits: opts.limits?.refusal
              })

              break
            }
            case 4: {
              yield * Reconcile.codec().stream(reader, reader.uint32(), `${prefix}.reconcile`, {
                limits: opts.limits?.reconcile
              })

              break
            }
            case 5: {
              yield * Offer.codec().stream(reader, reader.uint32(), `${prefix}.offer`, {
                limits: opts.limits?.offer
              })

              break
            }
            case 6: {
              yield * Pulled.codec().stream(reader, reader.uint32(), `${prefix}.pulled`, {
                limits: opts.limits?.pulled
              })

              break
            }
            case 7: {
              yield * FetchRequest.codec().stream(reader, reader.uint32(), `${prefix}.fetchRequest`, {
                limits: opts.limits?.fetchRequest
              })

              break
            }
            case 8: {
              yield * Records.codec().stream(reader, reader.uint32(), `${prefix}.records`, {
                limits: opts.limits?.records
              })

              break
            }
            case 9: {
              yield * End.codec().stream(reader, reader.uint32(), `${prefix}.end`, {
                limits: opts.limits?.end
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface FrameHelloNetworkIdFieldEvent {
    field: '$.hello.networkId'
    value: string
  }

  export interface FrameHelloTrustHashFieldEvent {
    field: '$.hello.trustHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameHelloVersionFieldEvent {
    field: '$.hello.version'
    value: number
  }

  export interface FrameHelloStoresFieldEvent {
    field: '$.hello.stores[]'
    index: number
    value: string
  }

  export interface FrameHelloCredentialFieldEvent {
    field: '$.hello.credential'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameHelloKindsFieldEvent {
    field: '$.hello.kinds[]'
    index: number
    value: string
  }

  export interface FrameWelcomeVersionFieldEvent {
    field: '$.welcome.version'
    value: number
  }

  export interface FrameWelcomeStoresFieldEvent {
    field: '$.welcome.stores[]'
    index: number
    value: string
  }

  export interface FrameWelcomeCredentialFieldEvent {
    field: '$.welcome.credential'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameWelcomeKindsFieldEvent {
    field: '$.welcome.kinds[]'
    index: number
    value: string
  }

  export interface FrameRefusalCodeFieldEvent {
    field: '$.refusal.code'
    value: string
  }

  export interface FrameRefusalMessageFieldEvent {
    field: '$.refusal.message'
    value: string
  }

  export interface FrameRefusalStoreFieldEvent {
    field: '$.refusal.store'
    value: string
  }

  export interface FrameReconcileStoreFieldEvent {
    field: '$.reconcile.store'
    value: string
  }

  export interface FrameReconcilePayloadFieldEvent {
    field: '$.reconcile.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameOfferStoreFieldEvent {
    field: '$.offer.store'
    value: string
  }

  export interface FrameOfferKeysFieldEvent {
    field: '$.offer.keys[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameOfferLastFieldEvent {
    field: '$.offer.last'
    value: boolean
  }

  export interface FramePulledStoreFieldEvent {
    field: '$.pulled.store'
    value: string
  }

  export interface FramePulledAppliedFieldEvent {
    field: '$.pulled.applied'
    value: number
  }

  export interface FramePulledRefusedFieldEvent {
    field: '$.pulled.refused'
    value: number
  }

  export interface FrameFetchRequestStoreFieldEvent {
    field: '$.fetchRequest.store'
    value: string
  }

  export interface FrameFetchRequestKeysFieldEvent {
    field: '$.fetchRequest.keys[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameRecordsRecordsFieldEvent {
    field: '$.records.records[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameRecordsLastFieldEvent {
    field: '$.records.last'
    value: boolean
  }

  export interface FrameRecordsMissingFieldEvent {
    field: '$.records.missing'
    value: number
  }

  export function encode (obj: Partial<Frame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Frame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Frame>): Frame {
    return decodeMessage(buf, Frame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Frame>): Generator<FrameHelloNetworkIdFieldEvent | FrameHelloTrustHashFieldEvent | FrameHelloVersionFieldEvent | FrameHelloStoresFieldEvent | FrameHelloCredentialFieldEvent | FrameHelloKindsFieldEvent | FrameWelcomeVersionFieldEvent | FrameWelcomeStoresFieldEvent | FrameWelcomeCredentialFieldEvent | FrameWelcomeKindsFieldEvent | FrameRefusalCodeFieldEvent | FrameRefusalMessageFieldEvent | FrameRefusalStoreFieldEvent | FrameReconcileStoreFieldEvent | FrameReconcilePayloadFieldEvent | FrameOfferStoreFieldEvent | FrameOfferKeysFieldEvent | FrameOfferLastFieldEvent | FramePulledStoreFieldEvent | FramePulledAppliedFieldEvent | FramePulledRefusedFieldEvent | FrameFetchRequestStoreFieldEvent | FrameFetchRequestKeysFieldEvent | FrameRecordsRecordsFieldEvent | FrameRecordsLastFieldEvent | FrameRecordsMissingFieldEvent> {
    return streamMessage(buf, Frame.codec(), opts)
  }
}

export interface Head {
  store: string
  root: Uint8Array<ArrayBuffer>
  count: bigint
}

export namespace Head {
  let _codec: Codec<Head>

  export const codec = (): Codec<Head> => {
    if (_codec == null) {
      _codec = message<Head>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.store != null && obj.store !== '')) {
          w.uint32(10)
          w.string(obj.store)
        }

        if ((obj.root != null && obj.root.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.root)
        }

        if ((obj.count != null && obj.count !== 0n)) {
          w.uint32(24)
          w.uint64(obj.count)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          store: '',
          root: uint8ArrayAlloc(0),
          count: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.store = reader.string()
              break
            }
            case 2: {
              obj.root = reader.bytes()
              break
            }
            case 3: {
              obj.count = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.store`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.root`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.count`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface HeadStoreFieldEvent {
    field: '$.store'
    value: string
  }

  export interface HeadRootFieldEvent {
    field: '$.root'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HeadCountFieldEvent {
    field: '$.count'
    value: bigint
  }

  export function encode (obj: Partial<Head>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Head.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Head>): Head {
    return decodeMessage(buf, Head.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Head>): Generator<HeadStoreFieldEvent | HeadRootFieldEvent | HeadCountFieldEvent> {
    return streamMessage(buf, Head.codec(), opts)
  }
}

export interface Announcement {
  networkId: string
  trustHash: Uint8Array<ArrayBuffer>
  heads: Head[]
  extensionHeads: Head[]
}

export namespace Announcement {
  let _codec: Codec<Announcement>

  export const codec = (): Codec<Announcement> => {
    if (_codec == null) {
      _codec = message<Announcement>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.networkId != null && obj.networkId !== '')) {
          w.uint32(10)
          w.string(obj.networkId)
        }

        if ((obj.trustHash != null && obj.trustHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.trustHash)
        }

        if (obj.heads != null && obj.heads.length > 0) {
          for (const value of obj.heads) {
            w.uint32(26)
            Head.codec().encode(value, w)
          }
        }

        if (obj.extensionHeads != null && obj.extensionHeads.length > 0) {
          for (const value of obj.extensionHeads) {
            w.uint32(34)
            Head.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          networkId: '',
          trustHash: uint8ArrayAlloc(0),
          heads: [],
          extensionHeads: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.networkId = reader.string()
              break
            }
            case 2: {
              obj.trustHash = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.heads != null && obj.heads.length === opts.limits.heads) {
                throw new MaxLengthError('Decode error - repeated field "heads" had too many elements')
              }

              obj.heads.push(Head.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.heads$
              }))
              break
            }
            case 4: {
              if (opts.limits?.extensionHeads != null && obj.extensionHeads.length === opts.limits.extensionHeads) {
                throw new MaxLengthError('Decode error - repeated field "extensionHeads" had too many elements')
              }

              obj.extensionHeads.push(Head.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.extensionHeads$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          heads: 0,
          extensionHeads: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.networkId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.trustHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.heads != null && obj.heads === opts.limits.heads) {
                throw new MaxLengthError('Streaming decode error - repeated field "heads" had too many elements')
              }

              for (const evt of Head.codec().stream(reader, reader.uint32(), `${prefix}.heads[]`, {
                limits: opts.limits?.heads$
              })) {
                yield {
                  ...evt,
                  index: obj.heads
                }
              }

              obj.heads++

              break
            }
            case 4: {
              if (opts.limits?.extensionHeads != null && obj.extensionHeads === opts.limits.extensionHeads) {
                throw new MaxLengthError('Streaming decode error - repeated field "extensionHeads" had too many elements')
              }

              for (const evt of Head.codec().stream(reader, reader.uint32(), `${prefix}.extensionHeads[]`, {
                limits: opts.limits?.extensionHeads$
              })) {
                yield {
                  ...evt,
                  index: obj.extensionHeads
                }
              }

              obj.extensionHeads++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AnnouncementNetworkIdFieldEvent {
    field: '$.networkId'
    value: string
  }

  export interface AnnouncementTrustHashFieldEvent {
    field: '$.trustHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AnnouncementHeadsStoreFieldEvent {
    field: '$.heads[].store'
    value: string
    index: number
  }

  export interface AnnouncementHeadsRootFieldEvent {
    field: '$.heads[].root'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface AnnouncementHeadsCountFieldEvent {
    field: '$.heads[].count'
    value: bigint
    index: number
  }

  export interface AnnouncementExtensionHeadsStoreFieldEvent {
    field: '$.extensionHeads[].store'
    value: string
    index: number
  }

  export interface AnnouncementExtensionHeadsRootFieldEvent {
    field: '$.extensionHeads[].root'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface AnnouncementExtensionHeadsCountFieldEvent {
    field: '$.extensionHeads[].count'
    value: bigint
    index: number
  }

  export function encode (obj: Partial<Announcement>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Announcement.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Announcement>): Announcement {
    return decodeMessage(buf, Announcement.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Announcement>): Generator<AnnouncementNetworkIdFieldEvent | AnnouncementTrustHashFieldEvent | AnnouncementHeadsStoreFieldEvent | AnnouncementHeadsRootFieldEvent | AnnouncementHeadsCountFieldEvent | AnnouncementExtensionHeadsStoreFieldEvent | AnnouncementExtensionHeadsRootFieldEvent | AnnouncementExtensionHeadsCountFieldEvent> {
    return streamMessage(buf, Announcement.codec(), opts)
  }
}
