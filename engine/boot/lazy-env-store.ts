// Opens an EnvStore on first use, so backend factories stay synchronous and config errors surface on first call.
import { FileEnvStore, type EnvRegion, type EnvStore } from './env-store';

/** How a backend gets its store; tests pass a recording or fault-injecting opener. */
export type EnvStoreOpener = (regions: readonly EnvRegion[]) => Promise<EnvStore>;

export const openFileEnvStore: EnvStoreOpener = (regions) => FileEnvStore.open(regions);

export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= make().catch((e) => {
      pending = undefined; // a missing device may appear later (udev); do not cache the failure
      throw e;
    });
    return pending;
  };
}
