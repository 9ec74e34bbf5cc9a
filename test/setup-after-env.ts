// Runs in every jest worker before its test files. Kept free of heavy imports: suites load what they need.
export {};
