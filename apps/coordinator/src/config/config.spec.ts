import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { CONFIG_VARIABLES, ConfigError, describeConfig, loadConfig } from './config.js';

describe('coordinator configuration', () => {
  it('uses a data directory under the working directory by default', () => {
    const config = loadConfig({});
    expect(config.dataDir).toBe(`${process.cwd()}/.sealfold`);
    expect(config.port).toBe(8080);
  });

  it('parses numbers and keeps absolute data directories', () => {
    const config = loadConfig({ SEALFOLD_PORT: '0', SEALFOLD_DATA_DIR: '/var/lib/sealfold' });
    expect(config.port).toBe(0);
    expect(config.dataDir).toBe('/var/lib/sealfold');
  });

  it.each([
    ['SEALFOLD_PORT', 'abc', 'an integer 0-65535'],
    ['SEALFOLD_PORT', '70000', 'an integer 0-65535'],
    ['SEALFOLD_LOG_LEVEL', 'loud', 'fatal | error'],
  ])('rejects %s=%s naming the variable and the expected form', (name, value, form) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name} must be ${form.replace('|', '\\|')}`));
  });

  it('README documents every variable with its default (the table is generated from the schema)', () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    for (const v of Object.values(CONFIG_VARIABLES)) expect(readme).toContain(`\`${v.name}\` | \`${v.default}\``);
    expect(describeConfig().split('\n')).toHaveLength(Object.keys(CONFIG_VARIABLES).length + 2);
  });
});
