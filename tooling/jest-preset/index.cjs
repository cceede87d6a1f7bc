'use strict';
const path = require('node:path');

/** Shared jest config for every @trustvision package. Usage: module.exports = require('@trustvision/jest-preset')(__dirname) */
module.exports = function preset(rootDir, overrides = {}) {
  return {
    rootDir,
    testEnvironment: path.join(__dirname, 'environment.cjs'),
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json'],
    transform: {
      '^.+\\.ts$': [
        require.resolve('ts-jest'),
        { tsconfig: path.join(rootDir, 'tsconfig.test.json'), diagnostics: false },
      ],
    },
    // sources import siblings as './x.js' (NodeNext); map them back to the .ts files for jest
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    reporters: ['default', path.join(__dirname, 'reporter.cjs')],
    testTimeout: 60000,
    ...overrides,
  };
};
