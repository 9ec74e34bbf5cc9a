// Deterministic and cryptographic randomness for initialisation, shuffling, splits and DP noise.
import { createHash, randomBytes } from 'node:crypto';

/** A source of uniform doubles in [0, 1) with 53 random bits. */
export interface UniformSource {
  nextFloat(): number;
}

/**
 * xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2021), seeded from
 * SHA-256(domain ‖ 0x00 ‖ seed). Reproducible across platforms; NOT for secrets or for real DP noise.
 */
export class SeededRng implements UniformSource {
  private readonly s = new Uint32Array(4);

  constructor(seed: number | string, domain = 'sealfold/fl') {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new RangeError('seed must be a safe integer');
    const digest = createHash('sha256')
      .update(`${domain}\u0000${String(seed)}`)
      .digest();
    for (let i = 0; i < 4; i++) this.s[i] = digest.readUInt32LE(4 * i);
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new RangeError('n must be an integer in [1, 2^32]');
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Uniform doubles from node:crypto (CSPRNG), buffered. */
export class CryptoUniform implements UniformSource {
  private buf = Buffer.alloc(0);
  private pos = 0;

  nextFloat(): number {
    if (this.pos + 8 > this.buf.length) {
      this.buf = randomBytes(8192);
      this.pos = 0;
    }
    const hi = this.buf.readUInt32LE(this.pos) >>> 5;
    const lo = this.buf.readUInt32LE(this.pos + 4) >>> 6;
    this.pos += 8;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/**
 * Standard normal samples by the Marsaglia polar method (a rejection form of Box–Muller), two per accepted pair.
 * Floating-point caveat (Mironov 2012, "On significance of the least significant bits for differential privacy"):
 * textbook float samplers leave gaps in the set of reachable outputs, so a float noisy value can in principle reveal
 * the unnoised input. Here the noisy update is quantised to a fixed-point grid before SecAgg+, which coarsens but does
 * not provably close this channel; a discrete Gaussian (Canonne, Kamath & Steinke 2020) on the quantisation grid is
 * the rigorous fix and is left for later.
 */
export class GaussianSampler {
  private spare: number | null = null;

  constructor(private readonly uniform: UniformSource) {}

  next(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    for (;;) {
      const u = 2 * this.uniform.nextFloat() - 1;
      const v = 2 * this.uniform.nextFloat() - 1;
      const r = u * u + v * v;
      if (r > 0 && r < 1) {
        const f = Math.sqrt((-2 * Math.log(r)) / r);
        this.spare = v * f;
        return u * f;
      }
    }
  }
}

/** Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, rng: SeededRng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
