// An ordered, immutable set of bootloader env variables that keeps entries it does not own verbatim.

/**
 * One stored entry. `value` null: a U-Boot entry without '='. `name` null: a GRUB line that is no variable
 * (a comment), kept where it stood. `raw`: the entry's bytes as read, written back unchanged unless abu sets it.
 */
export interface EnvItem {
  readonly name: string | null;
  readonly value: string | null;
  readonly raw?: string;
}

/**
 * Variables in stored order. Duplicate names are all kept: the last one is what the bootloader and its tools
 * use (U-Boot's import and libubootenv overwrite earlier ones, GRUB's load_env sets each in turn), so `get`
 * answers the last, and a write leaves duplicates of names it does not change as they were. Setting or
 * removing a name replaces all its occurrences. U-Boot entries without '=' are kept as they are, so foreign
 * entries (e.g. `.flags`) survive every write abu makes.
 */
export class EnvVars {
  private constructor(private readonly items: readonly EnvItem[]) {}

  static fromUbootEntries(entries: readonly string[]): EnvVars {
    return new EnvVars(entries.map((e) => {
      const eq = e.indexOf('=');
      return eq < 0 ? { name: e, value: null } : { name: e.slice(0, eq), value: e.slice(eq + 1) };
    }));
  }

  static fromPairs(pairs: Iterable<readonly [string, string]>): EnvVars {
    return new EnvVars([...pairs].map(([name, value]) => ({ name, value })));
  }

  static fromRecord(record: Record<string, string>): EnvVars {
    return EnvVars.fromPairs(Object.entries(record));
  }

  static fromItems(items: readonly EnvItem[]): EnvVars {
    return new EnvVars([...items]);
  }

  get(name: string): string | undefined {
    for (let i = this.items.length - 1; i >= 0; i--) if (this.items[i].name === name) return this.items[i].value ?? undefined;
    return undefined;
  }

  /** A copy with the given variables set (in the place of their last occurrence) and `null` ones removed. */
  with(changes: Record<string, string | null>): EnvVars {
    const changed = (n: string | null): n is string => n !== null && Object.prototype.hasOwnProperty.call(changes, n);
    const last = new Map<string, number>();
    this.items.forEach((it, i) => changed(it.name) && last.set(it.name, i));
    const items: EnvItem[] = [];
    this.items.forEach((it, i) => {
      if (!changed(it.name)) items.push(it);
      else if (last.get(it.name) === i && changes[it.name] !== null) items.push({ name: it.name, value: changes[it.name] });
    });
    for (const [name, value] of Object.entries(changes)) {
      if (value !== null && !last.has(name)) items.push({ name, value });
    }
    return new EnvVars(items);
  }

  toItems(): readonly EnvItem[] {
    return this.items;
  }

  toUbootEntries(): string[] {
    return this.items.filter((i) => i.name !== null).map(({ name, value }) => (value === null ? name! : `${name}=${value}`));
  }

  /** name=value pairs only (GRUB has no value-less entries), duplicates included. */
  toPairs(): Array<[string, string]> {
    return this.items.filter((i) => i.name !== null && i.value !== null).map((i) => [i.name!, i.value!]);
  }

  /** One value per name: the last, as the bootloader sees it. */
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.toPairs());
  }
}
