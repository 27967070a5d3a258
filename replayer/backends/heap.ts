/** A binary min-heap of timed events; ties keep insertion order, so the simulator is deterministic. */
export class EventHeap<T> {
  private readonly items: {t: number; seq: number; v: T}[] = []
  private seq = 0

  get size(): number {
    return this.items.length
  }

  push(t: number, v: T): void {
    const a = this.items
    a.push({seq: this.seq++, t, v})
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(a[i], a[p])) break
      ;[a[i], a[p]] = [a[p], a[i]]
      i = p
    }
  }

  pop(): {t: number; v: T} | undefined {
    const a = this.items
    if (a.length === 0) return undefined
    const top = a[0]
    const last = a.pop()!
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.less(a[l], a[m])) m = l
        if (r < a.length && this.less(a[r], a[m])) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m], a[i]]
        i = m
      }
    }
    return {t: top.t, v: top.v}
  }

  private less(x: {t: number; seq: number}, y: {t: number; seq: number}): boolean {
    return x.t < y.t || (x.t === y.t && x.seq < y.seq)
  }
}

/** Argmax over n slots with point updates in O(log n); ties go to the higher index (the kernel's OOM scan keeps the last of equals). */
export class MaxTree {
  private readonly size: number
  private readonly arg: Int32Array
  readonly value: Float64Array

  constructor(n: number) {
    let size = 1
    while (size < Math.max(1, n)) size *= 2
    this.size = size
    this.value = new Float64Array(size).fill(-Infinity)
    this.arg = new Int32Array(2 * size)
    for (let i = 0; i < size; i++) this.arg[size + i] = i
    for (let i = size - 1; i >= 1; i--) this.arg[i] = this.better(this.arg[2 * i], this.arg[2 * i + 1])
  }

  set(i: number, v: number): void {
    this.value[i] = v
    for (let p = (this.size + i) >> 1; p >= 1; p >>= 1) this.arg[p] = this.better(this.arg[2 * p], this.arg[2 * p + 1])
  }

  /** the slot with the largest value, or -1 when every slot is -Infinity */
  argmax(): number {
    const a = this.arg[1]
    return this.value[a] === -Infinity ? -1 : a
  }

  private better(a: number, b: number): number {
    const va = this.value[a]
    const vb = this.value[b]
    return va > vb || (va === vb && a > b) ? a : b
  }
}
