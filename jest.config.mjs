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
  // A worker whose event loop is empty still needs time to exit: with native ESM every test file's module graph stays
  // on the heap (node's vm.SourceTextModule is never collected, nodejs/node#59118), so after ~28 files a worker holds
  // 0.5-0.9 GB and V8 takes ~0.5 s to unmap it at exit — right at jest's 500 ms default, which then kills the worker
  // and blames a leak. A worker kept alive by a real leak (timer, socket, ref'd thread) never exits and is still
  // reported, after this longer wait.
  workerGracefulExitTimeout: 5_000,
};
