/** A kind of long-lived connection with a cap of its own: authenticated WebSockets, SSE streams. */
export class ConnectionPool {
  count = 0;
  constructor(
    /** Named in refusals: "WebSocket connections", "SSE streams". */
    readonly name: string,
    readonly max: number,
  ) {}
}

export type ConnectionLease = { release: () => void };
export type ConnectionRefusal = { refused: string };

/**
 * Places for long-lived connections, counted per owner (a token's tenant, or a client address without tokens)
 * across every pool together, and per pool across owners: one client can hold at most `maxPerOwner` WebSockets and
 * SSE streams in all, so it cannot take the whole server's cap from the others.
 */
export class ConnectionBudget {
  private readonly byOwner = new Map<string, number>();

  constructor(readonly maxPerOwner: number) {}

  take(owner: string, pool: ConnectionPool): ConnectionLease | ConnectionRefusal {
    const held = this.byOwner.get(owner) ?? 0;
    if (held >= this.maxPerOwner) {
      return {
        refused: `Too many connections for this client: at most ${this.maxPerOwner} WebSockets and SSE streams at once.`,
      };
    }
    if (pool.count >= pool.max)
      return { refused: `Too many ${pool.name}: the server's limit of ${pool.max} is reached.` };
    this.byOwner.set(owner, held + 1);
    pool.count += 1;
    let holding = true;
    return {
      release: () => {
        if (!holding) return;
        holding = false;
        pool.count -= 1;
        const left = (this.byOwner.get(owner) ?? 1) - 1;
        if (left > 0) this.byOwner.set(owner, left);
        else this.byOwner.delete(owner);
      },
    };
  }

  /** Connections the owner holds now, over every pool. */
  heldBy(owner: string): number {
    return this.byOwner.get(owner) ?? 0;
  }
}
