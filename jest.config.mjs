// Jest 30 with native ESM (run through `npm run test:jest`, which passes --experimental-vm-modules).
// isolatedModules: ts-jest transpiles each file alone; `npm run typecheck` does the type checking once.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  moduleNameMapper: {
    '^@sealfold/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/{apps,libs,test,scripts}/**/*.{spec,e2e-spec}.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup-after-env.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
