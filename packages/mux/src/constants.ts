/** The protocol id negotiated by multistream-select: HashiCorp's yamux, spec version 0. */
export const PROTOCOL = '/yamux/1.0.0'

/** The only header version the spec defines. */
export const YAMUX_VERSION = 0

/** Bytes of a frame header: version, type, flags (2), stream id (4), length (4). */
export const HEADER_BYTES = 12

/** The window every stream starts with on both sides (fixed by the spec, not a choice). */
export const INITIAL_STREAM_WINDOW = 256 * 1024

/** The largest a stream's receive window grows to by auto-tuning (as `@chainsafe/libp2p-yamux`). */
export const DEFAULT_MAX_STREAM_WINDOW = 16 * 1024 * 1024

/**
 * The largest plaintext of one noise transport message (65,535 bytes less the 16-byte tag). One
 * transport write of this muxer never exceeds it, so each write is exactly one noise message.
 */
export const MAX_TRANSPORT_WRITE = 65_535 - 16

/**
 * The largest payload of one data frame this side sends. A stream's frames are a quarter of the
 * remote's window as far as it has seen it (`frameCap` in stream.ts: 64 KiB at the initial 256 KiB
 * window, 1 MiB from a 4 MiB window on), never past the send window; a frame larger than a
 * transport write runs on over several writes, each still one noise message. Measured reason
 * (README, "Session 14"): the receiver decodes, dispatches and reads one message per data frame;
 * with frames of one noise message (65,507 bytes, until session 14) a blob read served by this
 * muxer cost its fetching process 7.9-8.8 CPU s/GiB against 5.9-6.5 now
 * (`packages/blobs/bench/cpu-probe.ts`, load 3-7). 1 MiB: the blob server's chunk write.
 */
export const MAX_DATA_FRAME_PAYLOAD = 1024 * 1024

/** Streams each side may have open at once (as `@chainsafe/libp2p-yamux` 8). */
export const DEFAULT_MAX_INBOUND_STREAMS = 1_024
export const DEFAULT_MAX_OUTBOUND_STREAMS = 1_024

/** How often a keep-alive ping goes out; a ping still unanswered at the next is a dead connection. */
export const DEFAULT_KEEP_ALIVE_INTERVAL_MS = 30_000

/**
 * Ping requests a remote may send between two of this muxer's flushes (one event-loop turn). A peer
 * pings once per keep-alive interval plus once to measure the round trip; more is a flood.
 */
export const DEFAULT_MAX_PINGS_PER_TURN = 64

/**
 * A window update to a busy stream within this many round trips of the previous one doubles the
 * stream's receive window (up to the maximum), the auto-tuning of go-yamux and chainsafe's yamux.
 */
export const WINDOW_TUNING_RTTS = 4
