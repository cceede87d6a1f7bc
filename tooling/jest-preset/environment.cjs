'use strict';
// jest runs each test file in a fresh vm context, whose Float32Array etc. are different constructors from the host's.
// onnxruntime checks `data instanceof Float32Array` against the host realm, so tensors built inside a test would be
// rejected (jestjs/jest#11864). This environment hands the test context the host's typed-array constructors.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (typeof globalThis[name] === 'function') this.global[name] = globalThis[name];
    }
  }
}

module.exports = SharedTypedArrayEnvironment;
