// The command table: every verb abu knows, in help order.
import type { Command } from './command';
import { installCommand } from './commands/install';
import { statusCommand } from './commands/status';
import { activateCommand, bootCheckCommand, historyCommand, markBadCommand, markGoodCommand, rebootCommand } from './commands/slot-commands';
import { keygenCommand } from './commands/keygen';
import { bundleCreateCommand } from './commands/bundle-create';
import { bundleInspectCommand } from './commands/bundle-inspect';
import { simCommand } from './commands/sim';
import { serveCommand } from './commands/serve';
import { consoleCommand } from './commands/console';
import { siteInstallCommand, siteStatusCommand, siteUploadCommand } from './commands/site';
import { clusterActivateCommand, clusterStatusCommand, clusterSwitchBackCommand } from './commands/site-cluster';

export function commandTable(): Map<string, Command> {
  const all: Command[] = [
    statusCommand, installCommand, activateCommand, markGoodCommand, markBadCommand, bootCheckCommand, rebootCommand, historyCommand,
    serveCommand, consoleCommand, keygenCommand, bundleCreateCommand, bundleInspectCommand, simCommand,
    siteStatusCommand, siteUploadCommand, siteInstallCommand,
    clusterActivateCommand, clusterSwitchBackCommand, clusterStatusCommand,
  ];
  return new Map(all.map((c) => [c.name, c]));
}
