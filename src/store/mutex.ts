/** A FIFO async lock: `const release = await mutex.acquire(); try { … } finally { release(); }`. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    return previous.then(() => release);
  }
}
