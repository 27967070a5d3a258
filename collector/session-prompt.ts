/** Loads a recorded session from its files (session file first, then sub-agent files). */
import {readFileSync} from 'node:fs'
import {basename} from 'node:path'

import {loadSessionFile, parseSession, RecordedSession} from './session.js'

export function loadSession(files: string[]): RecordedSession {
  if (files.length === 1) return loadSessionFile(files[0])
  return parseSession(basename(files[0]), files.map((f) => ({file: f, text: readFileSync(f, 'utf8')})))
}
