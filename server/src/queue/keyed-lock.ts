/**
 * Runs async work one at a time per key, in call order; different keys run in parallel.
 * The job queue takes a job's lock around each of its transitions because FerretDB v1
 * executes a conditional update as read → modify → write-back by `_id`, so two
 * transitions of one job that overlap in time can both "match" and the later write
 * silently undoes the earlier one. (MongoDB applies them atomically; the lock then
 * costs one uncontended promise.)
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
