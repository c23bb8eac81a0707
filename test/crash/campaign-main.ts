// Entry point of scripts/crash-campaign: the whole campaign on every backend, its self-test, and the summary table.
import { CRASH_BACKENDS, type CrashBackend } from './crash-appliance';
import { runCampaign, summaryTable, type CampaignResult } from './campaign';
import { DEFAULT_BOUND, type CrashBound } from './crash-states';

interface Args {
  backends: CrashBackend[];
  limit?: number;
  bound: CrashBound;
}

const USAGE = 'usage: crash-campaign [--backend uboot-redundant|uboot-single|grub|android]... [--limit N] [--all-subsets-up-to N] [--k N] [--samples N] [--seed N]';

function parseArgs(argv: string[]): Args {
  const args: Args = { backends: [], bound: { ...DEFAULT_BOUND } };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${argv[i - 1]} needs a non-negative integer\n${USAGE}`);
      return v;
    };
    const a = argv[i];
    if (a === '--backend') {
      const b = argv[++i] as CrashBackend;
      if (!CRASH_BACKENDS.includes(b)) throw new Error(`unknown backend "${b}"\n${USAGE}`);
      args.backends.push(b);
    } else if (a === '--limit') args.limit = value();
    else if (a === '--all-subsets-up-to') args.bound.allSubsetsUpTo = value();
    else if (a === '--k') args.bound.k = value();
    else if (a === '--samples') args.bound.samples = value();
    else if (a === '--seed') args.bound.seed = value();
    else throw new Error(`unknown argument "${a}"\n${USAGE}`);
  }
  if (args.backends.length === 0) args.backends = [...CRASH_BACKENDS];
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const b = args.bound;
  console.log(`bound per crash point: all subsets of up to ${b.allSubsetsUpTo} unflushed writes; beyond that every subset keeping or losing at most ${b.k}, plus ${b.samples} random subsets (seed ${b.seed})`);
  const results: CampaignResult[] = [];
  for (const kind of args.backends) {
    const r = await runCampaign(kind, { bound: b, limit: args.limit });
    results.push(r);
    console.log(`${kind}: ${r.checked} of ${r.states} crash states checked, ${r.violations.length} violations (${r.seconds.toFixed(1)} s)`);
    for (const v of r.violations.slice(0, 5)) console.log(`  ${v.operation}, cut after op ${v.point}, ${v.persisted} units persisted: ${v.messages.join('; ')}`);
  }
  // The self-test: an engine that never issues fdatasync on the slot must be caught, or the campaign checks nothing.
  const selfTests: CampaignResult[] = [];
  for (const kind of args.backends) {
    const r = await runCampaign(kind, { bound: b, limit: 60, dropSlotFlush: true, stopAfter: 1 });
    selfTests.push({ ...r, backend: `self-test ${kind} (no slot fdatasync)` });
  }
  console.log(`\n${summaryTable([...results, ...selfTests])}`);
  const blind = selfTests.filter((r) => r.violations.length === 0);
  for (const r of blind) console.log(`SELF-TEST FAILED: ${r.backend}: the checker saw no violation`);
  for (const r of selfTests.filter((x) => x.violations.length > 0)) console.log(`${r.backend}: caught: ${r.violations[0].messages[0]}`);
  const violations = results.reduce((n, r) => n + r.violations.length, 0);
  console.log(`\n${results.reduce((n, r) => n + r.checked, 0)} crash states checked, ${violations} violations; self-test ${blind.length === 0 ? 'passed' : 'FAILED'}`);
  return violations === 0 && blind.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
