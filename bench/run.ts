// `npm run bench`: every benchmark with its baseline measured in the same run. Figures are printed, never asserted.
import { runCrcBench } from './crc32-bench';
import { runInstallBench } from './install-bench';

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'crc') await runCrcBench();
  if (!only || only === 'install') await runInstallBench();
  if (!only || only === 'http') {
    // The HTTP benchmark needs the daemon's modules; loaded lazily so the others run without them.
    const { runHttpBench } = await import('./http-install-bench');
    await runHttpBench();
  }
  if (!only || only === 'compression') {
    const { runCompressionBench } = await import('./compression-bench');
    await runCompressionBench();
  }
  if (!only || only === 'adaptive') {
    const { runAdaptiveBench } = await import('./adaptive-bench');
    await runAdaptiveBench();
  }
  if (!only || only === 'site') {
    const { runSiteReplicationBench } = await import('./site-replication-bench');
    await runSiteReplicationBench();
  }
  if (!only || only === 'serial') {
    const { runSerialBench } = await import('./serial-bench');
    await runSerialBench();
  }
  if (!only || only === 'site-scale') {
    const { runSiteScaleBench } = await import('./site-scale-bench');
    await runSiteScaleBench();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
