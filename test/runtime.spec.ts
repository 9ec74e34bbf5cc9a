import { describe, expect, it } from '@jest/globals';

describe('runtime', () => {
  it('runs the tests on Node.js 22 or newer (the project brings its own Node through the `node` devDependency)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(22);
  });
});
