// `sealfold` entry point: parses the command line, runs one command, prints its result or one error line, and returns
// the exit code (bin/sealfold.mjs exits with it). Command modules are imported here but load the heavy libraries
// (Helia, ethers, EDR, tfjs) lazily inside their handlers, so `keys show` does not pay for IPFS.
import { pathToFileURL } from 'node:url';
import { CommanderError } from 'commander';
import { toJson } from './context.js';
import { EXIT_OK, EXIT_USER, oneLine, toFailure } from './errors.js';
import { createProgram, Runner } from './program.js';
import { registerKeys } from './commands/keys.js';
import { registerDataset } from './commands/dataset.js';
import { registerChain } from './commands/chain.js';
import { registerLicence } from './commands/licence.js';
import { registerFunds } from './commands/funds.js';
import { registerDoctor } from './commands/doctor.js';
import { registerJob } from './commands/job.js';
import { registerModel } from './commands/model.js';
import { registerEscrow } from './commands/escrow.js';
import { registerAudit } from './commands/audit.js';
import { registerSilo } from './commands/silo.js';
import { registerCoordinator } from './commands/coordinator.js';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const runner = new Runner(env);
  const program = createProgram();
  registerKeys(program, runner);
  registerDataset(program, runner);
  registerLicence(program, runner);
  registerChain(program, runner);
  registerFunds(program, runner);
  registerDoctor(program, runner);
  registerJob(program, runner);
  registerModel(program, runner);
  registerEscrow(program, runner);
  registerAudit(program, runner);
  registerSilo(program, runner);
  registerCoordinator(program, runner);

  // Commander writes help to stdout itself; its error messages are routed through our single error printer.
  program.exitOverride();
  program.configureOutput({ outputError: () => {} });
  for (const command of allCommands(program)) {
    command.exitOverride();
    command.configureOutput({ outputError: () => {} });
  }

  // --json is known before parsing finishes so that even a usage error is reported as JSON.
  const jsonWanted = () =>
    runner.context?.json ?? (argv.includes('--json') && !argv.slice(0, argv.indexOf('--json')).includes('--'));
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT_USER;
    }
    await program.parseAsync(argv, { from: 'user' });
    return runner.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT_OK; // --help, --version
      return report(
        { exitCode: EXIT_USER, code: 'USAGE', message: oneLine(error.message.replace(/^error: /, '')) },
        jsonWanted(),
      );
    }
    const failure = toFailure(error);
    if (env.SEALFOLD_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return report(failure, jsonWanted());
  } finally {
    await runner.context?.close();
  }
}

function report(failure: { exitCode: number; code: string; message: string }, json: boolean): number {
  process.stderr.write(`sealfold: ${failure.message}\n`);
  if (json) process.stdout.write(`${toJson({ error: { code: failure.code, message: failure.message } })}\n`);
  return failure.exitCode;
}

function allCommands(root: import('commander').Command): import('commander').Command[] {
  return root.commands.flatMap((c) => [c, ...allCommands(c)]);
}

// Also runnable directly: node --import ./scripts/register-aliases.mjs dist/apps/cli/src/main.js <command>
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
