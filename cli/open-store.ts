/** The one way commands open the store: writers create and migrate it, readers never write. */
import {Store} from '../datasets/store.js'

export async function withStore<T>(path: string, mode: 'read' | 'write', fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(path, {readOnly: mode === 'read'})
  try {
    return await fn(store)
  } finally {
    store.close()
  }
}
