/**
 * Plumbing every TrustVision CLI shares (Node only): a usage error type, required options, and the runner that answers
 * `--help` / `--version` and maps outcomes to exit codes — 0 ok, 1 a typed error printed as `error [CODE]: message`,
 * 2 a usage error (with usage).
 */
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
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

/** `util.parseArgs` in strict mode, with its parse errors (unknown option, missing value…) as UsageErrors. */
export function parseCliArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
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

/**
 * The answer to the arguments every CLI shares, or undefined: no arguments → the usage on stdout, exit 2; `--help`,
 * `-h` or `help` as the first argument → the usage, exit 0; `--version` → the version of the package whose
 * `dist/<format>/cli.js` is running, exit 0.
 */
export function commonCliAnswer(
  argv: readonly string[],
  usage: string,
  script = process.argv[1],
): { out: string; code: number } | undefined {
  const first = argv[0];
  if (first === undefined) return { out: usage, code: 2 };
  if (first === '--help' || first === '-h' || first === 'help') return { out: usage, code: 0 };
  if (first === '--version') {
    const here = path.dirname(realpathSync(script));
    const pkg = JSON.parse(readFileSync(path.resolve(here, '../../package.json'), 'utf8')) as { version: string };
    return { out: pkg.version, code: 0 };
  }
  return undefined;
}

/** Runs a CLI's main function on `process.argv` and exits with its code (see the module comment). */
export function runCli(main: (argv: string[]) => Promise<number>, usage: string): void {
  const argv = process.argv.slice(2);
  const common = commonCliAnswer(argv, usage);
  if (common) {
    console.log(common.out);
    process.exit(common.code);
  }
  main(argv).then(
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
