import { syncPath } from './files.ts';

interface Turn {
  /** The flush under way, if any. */
  running: Promise<void> | undefined;
  /** The next flush, shared by every caller that arrived while one was running. */
  next: Promise<void> | undefined;
}

/**
 * Flushes folders to the disk, one flush shared by everyone who asked for the same folder at about
 * the same time (group commit): many blobs renamed into one space's folder at once cost one fsync
 * of that folder, not one each. A caller's changes made before it asks are covered by the flush it
 * is given: it is either the next one to start, or one that started after it asked.
 */
export class DirSyncer {
  readonly #turns = new Map<string, Turn>();
  readonly #flush: (dir: string) => Promise<void>;

  /** `flush` flushes one folder (fsync); injectable for tests. */
  constructor(flush: (dir: string) => Promise<void> = syncPath) {
    this.#flush = flush;
  }

  sync(dir: string): Promise<void> {
    let turn = this.#turns.get(dir);
    if (!turn) {
      turn = { running: undefined, next: undefined };
      this.#turns.set(dir, turn);
    }
    if (!turn.running) return this.#start(dir, turn);
    // One is running: it may have begun before this caller's change, so this caller waits for the next.
    turn.next ??= turn.running.then(
      () => this.#start(dir, turn),
      () => this.#start(dir, turn),
    );
    return turn.next;
  }

  #start(dir: string, turn: Turn): Promise<void> {
    turn.next = undefined;
    const running = this.#flush(dir);
    turn.running = running;
    const settle = () => {
      if (turn.running !== running) return;
      turn.running = undefined;
      if (!turn.next) this.#turns.delete(dir);
    };
    running.then(settle, settle);
    return running;
  }
}
