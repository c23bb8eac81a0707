// `npm run bench [NAME]`: every benchmark (or one) with its baseline measured in the same run. Figures are printed, never asserted.

/** Each benchmark loads its modules only when it runs (the HTTP and site ones need the daemon's). */
const BENCHES: Record<string, () => Promise<void>> = {
  crc: async () => (await import('./crc32-bench')).runCrcBench(),
  install: async () => void (await (await import('./install-bench')).runInstallBench()),
  http: async () => (await import('./http-install-bench')).runHttpBench(),
  compression: async () => void (await (await import('./compression-bench')).runCompressionBench()),
  adaptive: async () => (await import('./adaptive-bench')).runAdaptiveBench(),
  site: async () => (await import('./site-replication-bench')).runSiteReplicationBench(),
  serial: async () => (await import('./serial-bench')).runSerialBench(),
  'site-scale': async () => (await import('./site-scale-bench')).runSiteScaleBench(),
};

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only && !(only in BENCHES)) throw new Error(`no benchmark "${only}"; the benchmarks: ${Object.keys(BENCHES).join(', ')}`);
  for (const [name, run] of Object.entries(BENCHES)) if (!only || only === name) await run();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
