// An ordered, immutable set of bootloader env variables that keeps entries it does not own verbatim.

/**
 * Variables in stored order. The first of duplicate names wins (fw_getenv's rule) and later duplicates are
 * dropped on rewrite; U-Boot entries without '=' are kept as they are, so foreign entries (e.g. `.flags`)
 * survive every write abu makes.
 */
export class EnvVars {
  private constructor(private readonly items: ReadonlyArray<readonly [string, string | null]>) {}

  static fromUbootEntries(entries: readonly string[]): EnvVars {
    return EnvVars.dedupe(entries.map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? ([e, null] as const) : ([e.slice(0, eq), e.slice(eq + 1)] as const);
    }));
  }

  static fromPairs(pairs: Iterable<readonly [string, string]>): EnvVars {
    return EnvVars.dedupe([...pairs]);
  }

  static fromRecord(record: Record<string, string>): EnvVars {
    return EnvVars.fromPairs(Object.entries(record));
  }

  private static dedupe(items: ReadonlyArray<readonly [string, string | null]>): EnvVars {
    const seen = new Set<string>();
    return new EnvVars(items.filter(([k]) => !seen.has(k) && (seen.add(k), true)));
  }

  get(name: string): string | undefined {
    const item = this.items.find(([k]) => k === name);
    return item?.[1] ?? undefined;
  }

  /** A copy with the given variables set (existing ones keep their place) and `null` ones removed. */
  with(changes: Record<string, string | null>): EnvVars {
    const items = this.items
      .filter(([k]) => changes[k] !== null)
      .map(([k, v]) => (k in changes ? ([k, changes[k]] as const) : ([k, v] as const)));
    for (const [k, v] of Object.entries(changes)) {
      if (v !== null && !this.items.some(([n]) => n === k)) items.push([k, v]);
    }
    return new EnvVars(items);
  }

  toUbootEntries(): string[] {
    return this.items.map(([k, v]) => (v === null ? k : `${k}=${v}`));
  }

  /** name=value pairs only (GRUB has no value-less entries). */
  toPairs(): Array<[string, string]> {
    return this.items.filter((i): i is readonly [string, string] => i[1] !== null).map(([k, v]) => [k, v]);
  }

  toRecord(): Record<string, string> {
    return Object.fromEntries(this.toPairs());
  }
}
