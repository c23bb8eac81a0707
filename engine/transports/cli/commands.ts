// The command table: every verb abu knows, in help order, each loaded only when it runs (or for help).
import type { Command } from './command';

/**
 * Loads the module of one verb. A command's module pulls in what it needs (the daemon's fastify, the site
 * layer, protobufjs...); loading all of them on every run cost `abu status` 0.2 s and 20 MiB, so only the
 * verb that runs is loaded.
 */
export type CommandLoader = () => Promise<Command>;

export function commandTable(): Map<string, CommandLoader> {
  const all: Array<[string, CommandLoader]> = [
    ['status', async () => (await import('./commands/status')).statusCommand],
    ['install', async () => (await import('./commands/install')).installCommand],
    ['activate', async () => (await import('./commands/slot-commands')).activateCommand],
    ['mark-good', async () => (await import('./commands/slot-commands')).markGoodCommand],
    ['mark-bad', async () => (await import('./commands/slot-commands')).markBadCommand],
    ['boot-check', async () => (await import('./commands/slot-commands')).bootCheckCommand],
    ['reboot', async () => (await import('./commands/slot-commands')).rebootCommand],
    ['history', async () => (await import('./commands/slot-commands')).historyCommand],
    ['serve', async () => (await import('./commands/serve')).serveCommand],
    ['console', async () => (await import('./commands/console')).consoleCommand],
    ['keygen', async () => (await import('./commands/keygen')).keygenCommand],
    ['bundle create', async () => (await import('./commands/bundle-create')).bundleCreateCommand],
    ['bundle inspect', async () => (await import('./commands/bundle-inspect')).bundleInspectCommand],
    ['sim', async () => (await import('./commands/sim')).simCommand],
    ['site status', async () => (await import('./commands/site')).siteStatusCommand],
    ['site upload', async () => (await import('./commands/site')).siteUploadCommand],
    ['site install', async () => (await import('./commands/site')).siteInstallCommand],
    ['cluster activate', async () => (await import('./commands/site-cluster')).clusterActivateCommand],
    ['cluster switch-back', async () => (await import('./commands/site-cluster')).clusterSwitchBackCommand],
    ['cluster status', async () => (await import('./commands/site-cluster')).clusterStatusCommand],
  ];
  return new Map(all);
}
