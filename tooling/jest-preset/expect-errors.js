'use strict';
// Assertions for TrustVision's typed errors, shared by every package's tests:
//   expectThrows(fn, ErrorClass, code, param?)   → the error
//   await expectRejects(promise, ErrorClass, code, param?) → the error
/* global expect */

function check(caught, cls, code, param) {
  expect(caught).toBeInstanceOf(cls);
  expect(caught.code).toBe(code);
  if (param !== undefined) expect(caught.param).toBe(param);
  return caught;
}

function expectThrows(fn, cls, code, param) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return check(caught, cls, code, param);
}

async function expectRejects(promise, cls, code, param) {
  let caught;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  return check(caught, cls, code, param);
}

module.exports = { expectThrows, expectRejects };
