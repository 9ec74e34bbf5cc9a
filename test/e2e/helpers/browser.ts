// A real headless Chromium for browser tests: the binary ships inside npm's @sparticuz/chromium (no system browser,
// no download at install or run time) and playwright-core drives it. Each launch extracts the binary, its fonts and
// SwiftShader into a temp dir of its own (not the package's default /tmp/chromium cache) with a fresh profile beside
// them, and close() removes it all; the browser is told not to phone home (component updates, sync, networking).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { getBytes, type JsonRpcProvider, type Wallet } from 'ethers';

const execFileAsync = promisify(execFile);

export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * @sparticuz/chromium extracts into os.tmpdir() (chromium, fonts/, the SwiftShader libraries) and reuses what it finds
 * there. A child Node process with TMPDIR = `dir` runs the extraction, so it all lands in `dir` (jest's sandboxed
 * process.env would not reach node:os in this process).
 */
async function extractChromium(dir: string): Promise<string> {
  const script =
    "const { default: c } = await import('@sparticuz/chromium'); process.stdout.write(await c.executablePath());";
  const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..', '..', '..'), // the project: its node_modules
    env: { ...process.env, TMPDIR: dir },
  });
  if (!stdout.startsWith(dir)) throw new Error(`chromium was extracted to ${stdout}, not into ${dir}`);
  return stdout;
}

/**
 * A fontconfig configuration naming the fonts extracted into `root`. The package's own fonts.conf lists fixed paths
 * (/tmp/fonts, /var/task/fonts, ...), not where its fonts were extracted: with none of those on the machine, Chromium
 * finds no font and renders every page without text (seen on a fresh machine; a /tmp/fonts left by an earlier
 * extraction hid it). `<dir>` is searched recursively.
 */
async function fontconfigFor(root: string): Promise<string> {
  const dir = join(root, 'fontconfig');
  await mkdir(dir);
  const xml = (path: string) => path.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  await writeFile(
    join(dir, 'fonts.conf'),
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n` +
      `  <dir>${xml(join(root, 'fonts'))}</dir>\n  <cachedir>${xml(join(root, 'fonts-cache'))}</cachedir>\n</fontconfig>\n`,
  );
  return dir;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const root = await mkdtemp(join(tmpdir(), 'sealfold-chromium-'));
  const profile = join(root, 'profile');
  try {
    const executablePath = await extractChromium(root);
    const fontconfig = await fontconfigFor(root);
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      env: { ...process.env, FONTCONFIG_PATH: fontconfig, FONTCONFIG_FILE: join(fontconfig, 'fonts.conf'), HOME: root },
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--no-default-browser-check',
      ],
    });
    return {
      context,
      async close() {
        await context.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

/** How the test wallet behaves; tests change it between steps. */
export interface TestWalletControl {
  wallet: Wallet;
  /** The chain id the wallet reports (a different one than the coordinator's tests the wrong-chain error). */
  chainId: bigint;
  /** Answer signature and transaction requests with EIP-1193 error 4001 (user rejected). */
  reject: boolean;
  /** Answer transaction requests only (eth_sendTransaction) with error 4001: the user signs, then declines to pay. */
  rejectTransactions?: boolean;
}

class ProviderError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/**
 * Injects `window.ethereum` (EIP-1193) into `page`: every request goes to this process through page.exposeFunction
 * and is answered by `control.wallet` (accounts, personal_sign, eth_signTypedData_v4, eth_sendTransaction) or
 * forwarded to the chain's JSON-RPC endpoint (reads), as a browser wallet does.
 */
export async function injectWallet(page: Page, control: TestWalletControl, provider: JsonRpcProvider, rpcUrl: string) {
  let rpcId = 0;
  const forward = async (method: string, params: unknown[]) => {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
    });
    const json = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (json.error) throw new ProviderError(json.error.code, json.error.message, json.error.data);
    return json.result;
  };
  const rejectIfAsked = () => {
    if (control.reject) throw new ProviderError(4001, 'User rejected the request.');
  };
  const answer = async (method: string, params: unknown[]): Promise<unknown> => {
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return [control.wallet.address.toLowerCase()]; // wallets often answer lower case; the app checksums
      case 'eth_chainId':
        return `0x${control.chainId.toString(16)}`;
      case 'personal_sign':
        rejectIfAsked();
        return control.wallet.signMessage(getBytes(params[0] as string));
      case 'eth_signTypedData_v4': {
        rejectIfAsked();
        const typed = JSON.parse(params[1] as string) as {
          domain: Record<string, unknown>;
          types: Record<string, { name: string; type: string }[]>;
          message: Record<string, unknown>;
        };
        const { EIP712Domain: _domain, ...types } = typed.types;
        return control.wallet.signTypedData(typed.domain, types, typed.message);
      }
      case 'eth_sendTransaction': {
        rejectIfAsked();
        if (control.rejectTransactions) throw new ProviderError(4001, 'User rejected the request.');
        const tx = params[0] as { to: string; data: string; value?: string };
        const sent = await control.wallet
          .connect(provider)
          .sendTransaction({ to: tx.to, data: tx.data, value: BigInt(tx.value ?? 0) });
        return sent.hash;
      }
      default:
        return forward(method, params);
    }
  };
  await page.exposeFunction('__sealfoldTestWallet', async (request: string) => {
    const { method, params } = JSON.parse(request) as { method: string; params: unknown[] };
    try {
      return JSON.stringify({ result: await answer(method, params) });
    } catch (err) {
      const e = err as { code?: number; message?: string; data?: unknown; shortMessage?: string };
      const code = typeof e.code === 'number' ? e.code : -32603;
      return JSON.stringify({ error: { code, message: e.shortMessage ?? e.message ?? String(err), data: e.data } });
    }
  });
  await page.addInitScript(() => {
    const call = (globalThis as unknown as { __sealfoldTestWallet(r: string): Promise<string> }).__sealfoldTestWallet;
    (globalThis as unknown as { ethereum: unknown }).ethereum = {
      isSealfoldTestWallet: true,
      on() {},
      removeListener() {},
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const r = JSON.parse(await call(JSON.stringify({ method, params: params ?? [] }))) as {
          result?: unknown;
          error?: { code: number; message: string; data?: unknown };
        };
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code, data: r.error.data });
        return r.result;
      },
    };
  });
}

/** Runs axe-core (the npm package's browser build) in the page; returns the serious and critical violations. */
export async function axeViolations(
  page: Page,
): Promise<{ id: string; impact: string; help: string; nodes: string[] }[]> {
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern (a script tag
  // would be refused by script-src 'self', as it should be).
  const source = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe;
    return (await axe.run()) as {
      violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
    };
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}
