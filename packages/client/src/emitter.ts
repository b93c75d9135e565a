import type { Listener } from './events';

const host = globalThis as unknown as { queueMicrotask(callback: () => void): void };

/** A minimal typed event emitter: `M` maps event names to payloads. A throwing listener does not stop the others. */
export class Emitter<M> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Calls every listener of `name`; a listener's exception is rethrown asynchronously (reported, not swallowed). */
  emit<K extends keyof M>(name: K, value: M[K]): void {
    for (const listener of [...(this.listeners.get(name) ?? [])] as Array<Listener<M[K]>>) {
      try {
        listener(value);
      } catch (error) {
        host.queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
