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
  'serial-resume': async () => (await import('./serial-bench')).runSerialBench({ resumeOnly: true }),
  /** Not in a plain `npm run bench`: it boots a QEMU guest (~2-4 min); run it by name. */
  'serial-qemu': async () => (await import('./serial-qemu-bench')).runSerialQemuBench(),
  /** Not in a plain `npm run bench`: one site replicating the same bundle again and again (CPU per pull). */
  'site-repeat': async () => (await import('./site-repeat-bench')).runSiteRepeatBench(),
  'site-scale': async () => (await import('./site-scale-bench')).runSiteScaleBench(),
};

/** Run only when named: they boot QEMU. */
const BY_NAME_ONLY = new Set(['serial-qemu', 'serial-resume', 'site-repeat']);

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only && !(only in BENCHES)) throw new Error(`no benchmark "${only}"; the benchmarks: ${Object.keys(BENCHES).join(', ')}`);
  for (const [name, run] of Object.entries(BENCHES)) if (only === name || (!only && !BY_NAME_ONLY.has(name))) await run();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
