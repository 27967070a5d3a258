/**
 * The wire protocol between the tool shell (collector/native/toolshell.c) and the broker
 * (broker.ts), over a Unix stream socket. Every message is a frame: a 4-byte big-endian
 * payload length, then the payload (at most MAX_FRAME bytes).
 *
 *   wrapper -> broker   "RUN\0" + each argument + "\0"   the shell's argv[1..] (no NUL inside)
 *   broker  -> wrapper  "OK <group name>"                 the wrapper is in its group: run
 *                       "ERR <reason>"                    no group (one line): run without
 *   wrapper -> broker   "END <status>"                    exit code, or 128+signal
 *   broker  -> wrapper  "DONE" | "DONE <note>"           the note goes to the tool's stderr
 *
 * A wrapper that disappears after OK (EOF without END) ends its call with exit code unknown.
 */
export const MAX_FRAME = 16 << 20

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProtocolError'
  }
}

/** One frame around a payload. */
export function frame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  if (body.length > MAX_FRAME) throw new ProtocolError(`frame of ${body.length} bytes exceeds ${MAX_FRAME}`)
  const head = Buffer.alloc(4)
  head.writeUInt32BE(body.length, 0)
  return Buffer.concat([head, body])
}

/** Cuts a byte stream into frame payloads. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0)

  /** Payloads completed by this chunk; throws ProtocolError on an oversized frame. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    const out: Buffer[] = []
    for (;;) {
      if (this.buf.length < 4) break
      const n = this.buf.readUInt32BE(0)
      if (n > MAX_FRAME) throw new ProtocolError(`frame of ${n} bytes exceeds ${MAX_FRAME}`)
      if (this.buf.length < 4 + n) break
      out.push(this.buf.subarray(4, 4 + n))
      this.buf = this.buf.subarray(4 + n)
    }
    return out
  }

  /** Bytes of an unfinished frame. */
  pending(): number {
    return this.buf.length
  }
}

export type WrapperMessage = {kind: 'run'; argv: string[]; raw: Buffer[]} | {kind: 'end'; status: number}
export type BrokerReply = {kind: 'ok'; name: string} | {kind: 'err'; reason: string} | {kind: 'done'; note: string | null}

/**
 * A wrapper's message. `argv` decodes each argument as UTF-8 (invalid bytes become U+FFFD: the
 * shell still gets the exact bytes, it execs its own argv); `raw` keeps the bytes.
 */
export function parseWrapperMessage(payload: Buffer): WrapperMessage {
  if (payload.subarray(0, 4).equals(Buffer.from('RUN\0'))) {
    const body = payload.subarray(4)
    if (body.length > 0 && body[body.length - 1] !== 0) throw new ProtocolError('RUN: last argument not NUL-terminated')
    const raw: Buffer[] = []
    for (let at = 0; at < body.length; ) {
      const nul = body.indexOf(0, at)
      raw.push(body.subarray(at, nul))
      at = nul + 1
    }
    return {argv: raw.map((b) => b.toString('utf8')), kind: 'run', raw}
  }
  const text = payload.toString('latin1')
  const end = /^END (\d{1,3})$/.exec(text)
  if (end && Number(end[1]) <= 255) return {kind: 'end', status: Number(end[1])}
  throw new ProtocolError(`unexpected message ${JSON.stringify(text.slice(0, 40))}`)
}

/** The wrapper's messages, framed (the C wrapper builds the same bytes; tests use these). */
export function runMessage(argv: readonly (string | Buffer)[]): Buffer {
  const parts = argv.map((a) => (typeof a === 'string' ? Buffer.from(a, 'utf8') : a))
  if (parts.some((p) => p.includes(0))) throw new ProtocolError('an argument cannot hold NUL')
  return frame(Buffer.concat([Buffer.from('RUN\0'), ...parts.flatMap((p) => [p, Buffer.from([0])])]))
}

export function endMessage(status: number): Buffer {
  return frame(`END ${status}`)
}

/** The broker's replies, framed. ERR reasons are one line (the wrapper prints them in one). */
export const reply = {
  done: (note: string | null) => frame(note ? `DONE ${note}` : 'DONE'),
  err: (reason: string) => frame(`ERR ${reason.replace(/\s*[\r\n]+\s*/g, ' ').trim() || 'refused'}`),
  ok: (name: string) => frame(`OK ${name}`),
}

export function parseReply(payload: Buffer): BrokerReply {
  const text = payload.toString('utf8')
  if (text.startsWith('OK ')) return {kind: 'ok', name: text.slice(3)}
  if (text.startsWith('ERR ')) return {kind: 'err', reason: text.slice(4)}
  if (text === 'DONE') return {kind: 'done', note: null}
  if (text.startsWith('DONE ')) return {kind: 'done', note: text.slice(5)}
  throw new ProtocolError(`unexpected reply ${JSON.stringify(text.slice(0, 40))}`)
}
