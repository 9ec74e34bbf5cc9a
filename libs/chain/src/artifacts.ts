// The contract artifacts (ABI `as const` + creation bytecode) generated from contracts/ by
// scripts/gen-chain-artifacts.mjs. The literal ABI types let client.ts check method names at compile time.
import { DatasetLicence, DatasetNFT, JobEscrow, ModelAsset, ModelRegistry } from './generated/index.js';

export const ARTIFACTS = {
  DatasetNFT: { abi: DatasetNFT.abi, bytecode: DatasetNFT.bytecode },
  DatasetLicence: { abi: DatasetLicence.abi, bytecode: DatasetLicence.bytecode },
  ModelRegistry: { abi: ModelRegistry.abi, bytecode: ModelRegistry.bytecode },
  JobEscrow: { abi: JobEscrow.abi, bytecode: JobEscrow.bytecode },
  ModelAsset: { abi: ModelAsset.abi, bytecode: ModelAsset.bytecode },
} as const;
export type ContractName = keyof typeof ARTIFACTS;
