// The command tree. Each command module adds its subcommands through `define`, which wraps the handler so that every
// command prints the same way: one JSON object on stdout with --json, text otherwise; errors are thrown, not printed.
import { Command, Option } from 'commander';
import { Context, toJson, type CommandResult, type RawGlobalOptions } from './context.js';

export type Handler = (ctx: Context, args: string[], options: Record<string, unknown>) => Promise<CommandResult>;

/** Shared by all command modules: the Context of the running command (so main can close it) and the output sink. */
export class Runner {
  context: Context | undefined;
  exitCode = 0;
  constructor(readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Wraps a handler as a commander action. */
  action(handler: Handler): (...args: unknown[]) => Promise<void> {
    return async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options = command.optsWithGlobals<Record<string, unknown> & RawGlobalOptions>();
      const positional = command.processedArgs.map((a: unknown) => a as string);
      const ctx = new Context(options, this.env);
      this.context = ctx;
      const result = await handler(ctx, positional, options);
      this.exitCode = result.exitCode ?? 0;
      if (result.printed) return;
      if (ctx.json) process.stdout.write(`${toJson(result.json)}\n`);
      else if (result.text !== '') process.stdout.write(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
    };
  }
}

export const JSON_NOTE = `
With --json, stdout carries exactly one JSON object (fields below); wei amounts and token ids are decimal strings.
On failure: {"error": {"code": "...", "message": "..."}} on stdout, the message on stderr, exit code 1 or 2.`;

export function createProgram(): Command {
  const program = new Command('sealfold');
  program
    .description(
      'Sealfold: seal datasets (age + IPFS), register and license them on chain, run federated training, check your setup.',
    )
    .version('0.1.0', '-V, --version')
    .addOption(new Option('--json', 'print one JSON object on stdout (machine-readable; see each command)'))
    .addOption(new Option('--home <dir>', 'keystore and CLI records (env SEALFOLD_HOME; default ~/.sealfold)'))
    .addOption(
      new Option(
        '--data-dir <dir>',
        'IPFS blocks + embedded chain, shared with the coordinator (env SEALFOLD_DATA_DIR; default ./.sealfold)',
      ),
    )
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 user error (bad input, validation, chain revert, missing CID, RPC down), 2 internal error.

Environment:
  SEALFOLD_HOME        keystore + CLI records (default ~/.sealfold)
  SEALFOLD_DATA_DIR    embedded IPFS store + embedded chain (default ./.sealfold, the coordinator's default)
  SEALFOLD_IPFS_API    use a Kubo daemon (e.g. http://127.0.0.1:5001) instead of the embedded IPFS store
  SEALFOLD_CHAIN_RPC   use this JSON-RPC endpoint instead of the embedded chain (with SEALFOLD_CHAIN_ID and
                       SEALFOLD_CONTRACTS, a JSON file of contract addresses)

Chain connection: SEALFOLD_CHAIN_RPC when set; else the RPC of a running \`sealfold chain start\` on the same data
dir; else the embedded chain is started in-process for the duration of the command (its journal keeps the state).`,
    );
  return program;
}
