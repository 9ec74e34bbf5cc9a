// Converts ethers `Result`s into plain values guided by the ABI: arrays stay arrays, tuples become objects keyed by
// component name (ethers' own `toObject(true)` turns nested arrays into objects).
import type { ParamType, Result } from 'ethers';

export function plainValue(type: ParamType, value: unknown): unknown {
  if (type.isArray()) return Array.from(value as Result, (v) => plainValue(type.arrayChildren, v));
  if (type.isTuple()) {
    const out: Record<string, unknown> = {};
    type.components.forEach((c, i) => {
      out[c.name === '' ? String(i) : c.name] = plainValue(c, (value as Result)[i]);
    });
    return out;
  }
  return value;
}

export function plainArgs(inputs: readonly ParamType[], values: Result): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  inputs.forEach((p, i) => {
    out[p.name === '' ? String(i) : p.name] = plainValue(p, values[i]);
  });
  return out;
}
