/* eslint-disable require-yield */

import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Hello {
  networkId: string
  trustHash: Uint8Array<ArrayBuffer>
  version: number
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

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          networkId: '',
          trustHash: uint8ArrayAlloc(0),
          version: 0
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

  export function encode (obj: Partial<Hello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Hello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Hello {
    return decodeMessage(buf, Hello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Generator<HelloNetworkIdFieldEvent | HelloTrustHashFieldEvent | HelloVersionFieldEvent> {
    return streamMessage(buf, Hello.codec(), opts)
  }
}

export interface Welcome {
  version: number
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

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
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
                field: `${prefix}.version`,
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

  export interface WelcomeVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export function encode (obj: Partial<Welcome>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Welcome.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Welcome>): Welcome {
    return decodeMessage(buf, Welcome.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Welcome>): Generator<WelcomeVersionFieldEvent> {
    return streamMessage(buf, Welcome.codec(), opts)
  }
}

export interface Refusal {
  code: string
  message: string
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

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: '',
          message: ''
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

  export function encode (obj: Partial<Refusal>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Refusal.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Refusal {
    return decodeMessage(buf, Refusal.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Generator<RefusalCodeFieldEvent | RefusalMessageFieldEvent> {
    return streamMessage(buf, Refusal.codec(), opts)
  }
}

export interface ManifestRequest {
  id: Uint8Array<ArrayBuffer>
}

export namespace ManifestRequest {
  let _codec: Codec<ManifestRequest>

  export const codec = (): Codec<ManifestRequest> => {
    if (_codec == null) {
      _codec = message<ManifestRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
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
                field: `${prefix}.id`,
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

  export interface ManifestRequestIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ManifestRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ManifestRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ManifestRequest>): ManifestRequest {
    return decodeMessage(buf, ManifestRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ManifestRequest>): Generator<ManifestRequestIdFieldEvent> {
    return streamMessage(buf, ManifestRequest.codec(), opts)
  }
}

export interface ManifestPart {
  data: Uint8Array<ArrayBuffer>
  total: bigint
  last: boolean
}

export namespace ManifestPart {
  let _codec: Codec<ManifestPart>

  export const codec = (): Codec<ManifestPart> => {
    if (_codec == null) {
      _codec = message<ManifestPart>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.data)
        }

        if ((obj.total != null && obj.total !== 0n)) {
          w.uint32(16)
          w.uint64(obj.total)
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
          data: uint8ArrayAlloc(0),
          total: 0n,
          last: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.data = reader.bytes()
              break
            }
            case 2: {
              obj.total = reader.uint64()
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
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.total`,
                value: reader.uint64()
              }
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

  export interface ManifestPartDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ManifestPartTotalFieldEvent {
    field: '$.total'
    value: bigint
  }

  export interface ManifestPartLastFieldEvent {
    field: '$.last'
    value: boolean
  }

  export function encode (obj: Partial<ManifestPart>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ManifestPart.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ManifestPart>): ManifestPart {
    return decodeMessage(buf, ManifestPart.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ManifestPart>): Generator<ManifestPartDataFieldEvent | ManifestPartTotalFieldEvent | ManifestPartLastFieldEvent> {
    return streamMessage(buf, ManifestPart.codec(), opts)
  }
}

export interface ChunkRequest {
  id: Uint8Array<ArrayBuffer>
  indices: number[]
}

export namespace ChunkRequest {
  let _codec: Codec<ChunkRequest>

  export const codec = (): Codec<ChunkRequest> => {
    if (_codec == null) {
      _codec = message<ChunkRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if (obj.indices != null && obj.indices.length > 0) {
          for (const value of obj.indices) {
            w.uint32(16)
            w.uint32(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          indices: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.indices != null && obj.indices.length === opts.limits.indices) {
                throw new MaxLengthError('Decode error - repeated field "indices" had too many elements')
              }

              obj.indices.push(reader.uint32())
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
          indices: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.indices != null && obj.indices === opts.limits.indices) {
                throw new MaxLengthError('Streaming decode error - repeated field "indices" had too many elements')
              }

              yield {
                field: `${prefix}.indices[]`,
                index: obj.indices,
                value: reader.uint32()
              }

              obj.indices++

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

  export interface ChunkRequestIdFieldEvent {
    field: '$.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChunkRequestIndicesFieldEvent {
    field: '$.indices[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<ChunkRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ChunkRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChunkRequest>): ChunkRequest {
    return decodeMessage(buf, ChunkRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChunkRequest>): Generator<ChunkRequestIdFieldEvent | ChunkRequestIndicesFieldEvent> {
    return streamMessage(buf, ChunkRequest.codec(), opts)
  }
}

export interface ChunkData {
  index: number
  offset: number
  data: Uint8Array<ArrayBuffer>
}

export namespace ChunkData {
  let _codec: Codec<ChunkData>

  export const codec = (): Codec<ChunkData> => {
    if (_codec == null) {
      _codec = message<ChunkData>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(8)
          w.uint32(obj.index)
        }

        if ((obj.offset != null && obj.offset !== 0)) {
          w.uint32(16)
          w.uint32(obj.offset)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.data)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          index: 0,
          offset: 0,
          data: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.index = reader.uint32()
              break
            }
            case 2: {
              obj.offset = reader.uint32()
              break
            }
            case 3: {
              obj.data = reader.bytes()
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
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.data`,
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

  export interface ChunkDataIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface ChunkDataOffsetFieldEvent {
    field: '$.offset'
    value: number
  }

  export interface ChunkDataDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ChunkData>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ChunkData.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChunkData>): ChunkData {
    return decodeMessage(buf, ChunkData.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChunkData>): Generator<ChunkDataIndexFieldEvent | ChunkDataOffsetFieldEvent | ChunkDataDataFieldEvent> {
    return streamMessage(buf, ChunkData.codec(), opts)
  }
}

export interface Done {}

export namespace Done {
  let _codec: Codec<Done>

  export const codec = (): Codec<Done> => {
    if (_codec == null) {
      _codec = message<Done>((obj, w, opts = {}) => {
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

  export function encode (obj: Partial<Done>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Done.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Done>): Done {
    return decodeMessage(buf, Done.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Done>): Generator<{}> {
    return streamMessage(buf, Done.codec(), opts)
  }
}

export interface Frame {
  hello?: Hello
  welcome?: Welcome
  refusal?: Refusal
  manifestRequest?: ManifestRequest
  manifestPart?: ManifestPart
  chunkRequest?: ChunkRequest
  chunkData?: ChunkData
  done?: Done
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

        if (obj.done != null) {
          obj.chunkData = undefined
          obj.chunkRequest = undefined
          obj.manifestPart = undefined
          obj.manifestRequest = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.chunkData != null) {
          obj.done = undefined
          obj.chunkRequest = undefined
          obj.manifestPart = undefined
          obj.manifestRequest = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.chunkRequest != null) {
          obj.done = undefined
          obj.chunkData = undefined
          obj.manifestPart = undefined
          obj.manifestRequest = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.manifestPart != null) {
          obj.done = undefined
          obj.chunkData = undefined
          obj.chunkRequest = undefined
          obj.manifestRequest = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.manifestRequest != null) {
          obj.done = undefined
          obj.chunkData = undefined
          obj.chunkRequest = undefined
          obj.manifestPart = undefined
          obj.refusal = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.refusal != null) {
          obj.done = undefined
          obj.chunkData = undefined
          obj.chunkRequest = undefined
          obj.manifestPart = undefined
          obj.manifestRequest = undefined
          obj.welcome = undefined
          obj.hello = undefined
        }

        if (obj.welcome != null) {
          obj.done = undefined
          obj.chunkData = undefined
          obj.chunkRequest = undefined
          obj.manifestPart = undefined
          obj.manifestRequest = undefined
          obj.refusal = undefined
          obj.hello = undefined
        }

        if (obj.hello != null) {
          obj.done = undefined
          obj.chunkData = undefined
          obj.chunkRequest = undefined
          obj.manifestPart = undefined
          obj.manifestRequest = undefined
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

        if (obj.manifestRequest != null) {
          w.uint32(34)
          ManifestRequest.codec().encode(obj.manifestRequest, w)
        }

        if (obj.manifestPart != null) {
          w.uint32(42)
          ManifestPart.codec().encode(obj.manifestPart, w)
        }

        if (obj.chunkRequest != null) {
          w.uint32(50)
          ChunkRequest.codec().encode(obj.chunkRequest, w)
        }

        if (obj.chunkData != null) {
          w.uint32(58)
          ChunkData.codec().encode(obj.chunkData, w)
        }

        if (obj.done != null) {
          w.uint32(66)
          Done.codec().encode(obj.done, w)
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
              obj.manifestRequest = ManifestRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.manifestRequest
              })
              break
            }
            case 5: {
              obj.manifestPart = ManifestPart.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.manifestPart
              })
              break
            }
            case 6: {
              obj.chunkRequest = ChunkRequest.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.chunkRequest
              })
              break
            }
            case 7: {
              obj.chunkData = ChunkData.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.chunkData
              })
              break
            }
            case 8: {
              obj.done = Done.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.done
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        if (obj.done != null) {
          delete obj.chunkData
          delete obj.chunkRequest
          delete obj.manifestPart
          delete obj.manifestRequest
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.chunkData != null) {
          delete obj.done
          delete obj.chunkRequest
          delete obj.manifestPart
          delete obj.manifestRequest
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.chunkRequest != null) {
          delete obj.done
          delete obj.chunkData
          delete obj.manifestPart
          delete obj.manifestRequest
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.manifestPart != null) {
          delete obj.done
          delete obj.chunkData
          delete obj.chunkRequest
          delete obj.manifestRequest
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.manifestRequest != null) {
          delete obj.done
          delete obj.chunkData
          delete obj.chunkRequest
          delete obj.manifestPart
          delete obj.refusal
          delete obj.welcome
          delete obj.hello
        }

        if (obj.refusal != null) {
          delete obj.done
          delete obj.chunkData
          delete obj.chunkRequest
          delete obj.manifestPart
          delete obj.manifestRequest
          delete obj.welcome
          delete obj.hello
        }

        if (obj.welcome != null) {
          delete obj.done
          delete obj.chunkData
          delete obj.chunkRequest
          delete obj.manifestPart
          delete obj.manifestRequest
          delete obj.refusal
          delete obj.hello
        }

        if (obj.hello != null) {
          delete obj.done
          delete obj.chunkData
          delete obj.chunkRequest
          delete obj.manifestPart
          delete obj.manifestRequest
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
              yield * ManifestRequest.codec().stream(reader, reader.uint32(), `${prefix}.manifestRequest`, {
                limits: opts.limits?.manifestRequest
              })

              break
            }
            case 5: {
              yield * ManifestPart.codec().stream(reader, reader.uint32(), `${prefix}.manifestPart`, {
                limits: opts.limits?.manifestPart
              })

              break
            }
            case 6: {
              yield * ChunkRequest.codec().stream(reader, reader.uint32(), `${prefix}.chunkRequest`, {
                limits: opts.limits?.chunkRequest
              })

              break
            }
            case 7: {
              yield * ChunkData.codec().stream(reader, reader.uint32(), `${prefix}.chunkData`, {
                limits: opts.limits?.chunkData
              })

              break
            }
            case 8: {
              yield * Done.codec().stream(reader, reader.uint32(), `${prefix}.done`, {
                limits: opts.limits?.done
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

  export interface FrameWelcomeVersionFieldEvent {
    field: '$.welcome.version'
    value: number
  }

  export interface FrameRefusalCodeFieldEvent {
    field: '$.refusal.code'
    value: string
  }

  export interface FrameRefusalMessageFieldEvent {
    field: '$.refusal.message'
    value: string
  }

  export interface FrameManifestRequestIdFieldEvent {
    field: '$.manifestRequest.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameManifestPartDataFieldEvent {
    field: '$.manifestPart.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameManifestPartTotalFieldEvent {
    field: '$.manifestPart.total'
    value: bigint
  }

  export interface FrameManifestPartLastFieldEvent {
    field: '$.manifestPart.last'
    value: boolean
  }

  export interface FrameChunkRequestIdFieldEvent {
    field: '$.chunkRequest.id'
    value: Uint8Array<ArrayBuffer>
  }

  export interface FrameChunkRequestIndicesFieldEvent {
    field: '$.chunkRequest.indices[]'
    index: number
    value: number
  }

  export interface FrameChunkDataIndexFieldEvent {
    field: '$.chunkData.index'
    value: number
  }

  export interface FrameChunkDataOffsetFieldEvent {
    field: '$.chunkData.offset'
    value: number
  }

  export interface FrameChunkDataDataFieldEvent {
    field: '$.chunkData.data'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Frame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Frame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Frame>): Frame {
    return decodeMessage(buf, Frame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Frame>): Generator<FrameHelloNetworkIdFieldEvent | FrameHelloTrustHashFieldEvent | FrameHelloVersionFieldEvent | FrameWelcomeVersionFieldEvent | FrameRefusalCodeFieldEvent | FrameRefusalMessageFieldEvent | FrameManifestRequestIdFieldEvent | FrameManifestPartDataFieldEvent | FrameManifestPartTotalFieldEvent | FrameManifestPartLastFieldEvent | FrameChunkRequestIdFieldEvent | FrameChunkRequestIndicesFieldEvent | FrameChunkDataIndexFieldEvent | FrameChunkDataOffsetFieldEvent | FrameChunkDataDataFieldEvent> {
    return streamMessage(buf, Frame.codec(), opts)
  }
}
