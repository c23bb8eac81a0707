// Runs the update daemon alone in this process for the HTTP benchmark, so its peak RSS is measured apart from the client.
import { tuneForSmallFootprint } from '../engine/transports/process-tuning';
import { startDaemon } from '../engine/transports/http/daemon';

// As bin/abu does for `abu serve`: the benchmark measures the daemon as it runs on an appliance.
tuneForSmallFootprint();
startDaemon({ configPath: process.argv[2], port: 0 }).then(
  (d) => process.stdout.write(JSON.stringify({ url: d.url, token: d.token }) + '\n'),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
