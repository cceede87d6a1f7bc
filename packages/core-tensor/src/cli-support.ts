/**
 * Plumbing every TrustVision CLI shares (Node only): a usage error type, required options, and the runner that maps
 * outcomes to exit codes — 0 ok, 1 a typed error printed as `error [CODE]: message`, 2 a usage error (with usage).
 */
import { TrustVisionError } from './errors.js';

/** A command-line mistake: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The value of `--key`, or a UsageError saying it is required. */
export function requireOption(values: Record<string, unknown>, key: string): string {
  const v = values[key];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${key} is required`);
  return v;
}

/** The number given as `--key` (undefined when absent), or a UsageError. */
export function numberOption(values: Record<string, unknown>, key: string): number | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${key} must be a number, got '${String(v)}'`);
  return n;
}

/** Runs a CLI's main function on `process.argv` and exits with its code (see the module comment). */
export function runCli(main: (argv: string[]) => Promise<number>, usage: string): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof UsageError) {
        console.error(`error: ${e.message}\n\n${usage}`);
        process.exit(2);
      }
      if (e instanceof TrustVisionError) console.error(`error [${e.code}]: ${e.message}`);
      else console.error(e);
      process.exit(1);
    },
  );
}
