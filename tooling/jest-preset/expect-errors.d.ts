/** Asserts that `fn` throws an error of `cls` with the given `code` (and `param`, when given); returns the error. */
export declare function expectThrows(
  fn: () => unknown,
  cls: new (...a: never[]) => Error,
  code: string,
  param?: string,
): Error;
/** Asserts that `promise` rejects with an error of `cls` with the given `code` (and `param`); returns the error. */
export declare function expectRejects(
  promise: Promise<unknown>,
  cls: new (...a: never[]) => Error,
  code: string,
  param?: string,
): Promise<Error>;
