import { MalformedRecordError } from '../errors.js'
import { Reader, Writer } from './wire.js'

export const MAX_COORDINATE_PART_BYTES = 256

/** "Data of `origin`, in `volume`, copied to `destination`". */
export interface Coordinate {
  readonly volume: string
  readonly destination: string
  readonly origin: string
}

export function writeCoordinate(writer: Writer, coordinate: Coordinate): void {
  if (typeof coordinate !== 'object' || coordinate === null) {
    throw new MalformedRecordError('coordinate must be an object')
  }
  writer.text('volume', coordinate.volume, MAX_COORDINATE_PART_BYTES, { nonEmpty: true })
  writer.text('destination', coordinate.destination, MAX_COORDINATE_PART_BYTES, { nonEmpty: true })
  writer.text('origin', coordinate.origin, MAX_COORDINATE_PART_BYTES, { nonEmpty: true })
}

export function readCoordinate(reader: Reader): Coordinate {
  const volume = reader.text('volume', MAX_COORDINATE_PART_BYTES, { nonEmpty: true })
  const destination = reader.text('destination', MAX_COORDINATE_PART_BYTES, { nonEmpty: true })
  const origin = reader.text('origin', MAX_COORDINATE_PART_BYTES, { nonEmpty: true })
  return { volume, destination, origin }
}

/** Canonical bytes of a coordinate (three length-prefixed UTF-8 strings); validates bounds. */
export function encodeCoordinate(coordinate: Coordinate): Uint8Array {
  const writer = new Writer()
  writeCoordinate(writer, coordinate)
  return writer.finish()
}

/** Text form used in reasons and by pattern invalidation: `volume/destination/origin`. */
export function formatCoordinate(coordinate: Coordinate): string {
  return `${coordinate.volume}/${coordinate.destination}/${coordinate.origin}`
}

export function decodeCoordinate(bytes: Uint8Array): Coordinate {
  const reader = new Reader(bytes)
  const coordinate = readCoordinate(reader)
  reader.end()
  return coordinate
}
