// Hidden passphrase prompts on the terminal (stdin in raw mode, nothing echoed). Used only when stdin is a TTY:
// unattended runs take passphrases from SEALFOLD_KEYSTORE_PASSPHRASE or SEALFOLD_KEYSTORE_PASSPHRASE_FILE.
import { CliError } from './errors.js';

/** Whether a person can be asked: stdin is a terminal. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true;
}

/** Reads one line from the terminal without echo. Ctrl-C or Ctrl-D abort with CliError INTERRUPTED. */
export function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new CliError('INTERRUPTED', 'passphrase entry cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** Asks for a new passphrase twice; refuses an empty one or two that differ. */
export async function askNewPassphrase(what: string): Promise<string> {
  const first = await askHidden(`New passphrase for ${what}: `);
  if (first.length === 0) throw new CliError('INVALID_PASSPHRASE', 'the passphrase must not be empty');
  const second = await askHidden('Repeat it: ');
  if (second !== first) throw new CliError('PASSPHRASE_MISMATCH', 'the two passphrases differ: nothing was written');
  return first;
}

/** Asks a yes/no question on the terminal (echoed); true only for y or yes. Ctrl-C or Ctrl-D answer no. */
export function askYesNo(question: string): Promise<boolean> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve) => {
    let value = '';
    const done = (answer: boolean) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(answer);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(/^y(es)?$/i.test(value.trim()));
        if (ch === '\u0003' || ch === '\u0004') return done(false);
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
        process.stderr.write(ch);
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
