// TypeScript types of contract return values and event arguments, derived from the generated `abi as const`
// (libs/chain/src/generated): uintN/intN → bigint, bool → boolean, address/bytes/string → string, tuple → object
// keyed by component name, T[] → array. The runtime shape is what abi-values.ts plainValue builds.
import type { ARTIFACTS, ContractName } from './artifacts.js';

export interface AbiParam {
  readonly name: string;
  readonly type: string;
  readonly components?: readonly AbiParam[];
}

/** The decoded JS value of one ABI parameter (ethers v6 conventions: every integer is a bigint). */
export type AbiParamValue<P extends AbiParam> = P['type'] extends `${infer Inner}[]`
  ? AbiParamValue<{ name: P['name']; type: Inner; components: P['components'] }>[]
  : P['type'] extends 'tuple'
    ? AbiParamsObject<NonNullable<P['components']>>
    : P['type'] extends `uint${string}` | `int${string}`
      ? bigint
      : P['type'] extends 'bool'
        ? boolean
        : string;

export type AbiParamsObject<Ps extends readonly AbiParam[]> = { [K in Ps[number] as K['name']]: AbiParamValue<K> };

type TupleValues<C extends readonly AbiParam[]> = { -readonly [I in keyof C]: AbiParamValue<C[I]> };

type AbiOf<N extends ContractName> = (typeof ARTIFACTS)[N]['abi'][number];

export type FunctionName<N extends ContractName> = Extract<AbiOf<N>, { type: 'function' }>['name'];
export type EventName<N extends ContractName> = Extract<AbiOf<N>, { type: 'event' }>['name'];

type FunctionOutputs<N extends ContractName, F extends FunctionName<N>> = Extract<
  AbiOf<N>,
  { type: 'function'; name: F }
>['outputs'];

/** What a view returns: the single output's value, or the tuple of outputs. */
export type ReturnOf<N extends ContractName, F extends FunctionName<N>> =
  FunctionOutputs<N, F> extends readonly [infer Single extends AbiParam]
    ? AbiParamValue<Single>
    : FunctionOutputs<N, F> extends readonly AbiParam[]
      ? TupleValues<FunctionOutputs<N, F>>
      : never;

/** An event's arguments, keyed by name. */
export type EventArgs<N extends ContractName, E extends EventName<N>> = AbiParamsObject<
  Extract<AbiOf<N>, { type: 'event'; name: E }>['inputs']
>;
