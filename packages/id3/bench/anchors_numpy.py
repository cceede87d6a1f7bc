#!/usr/bin/env python3
"""numpy side of bench/anchors.mjs: the same anchor optimiser (test/fixtures/anchors_ref.py, which the tests' goldens
come from) from the same start, timed.

  python3 bench/anchors_numpy.py INIT.npy ITERS NEIGHBOURS TEMPERATURE STEP
prints one JSON object: seconds, minAngleDeg, meanNearestAngleDeg, initial, iterations, accepted, numpy version.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures'))
from anchors_ref import optimize  # noqa: E402


def main():
    init, iters, k, tau, eta = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    a0 = np.load(init)
    t0 = time.perf_counter()
    r = optimize(a0, iters, k, tau, eta,
                 progress=lambda it, st: print(f'numpy step {it}/{iters}: min angle {st[1]:.3f}', file=sys.stderr)
                 if it % 10 == 0 else None)
    seconds = time.perf_counter() - t0
    print(json.dumps({'seconds': seconds, 'minAngleDeg': r['minAngleDeg'],
                      'meanNearestAngleDeg': r['meanNearestAngleDeg'], 'initial': r['initial'],
                      'iterations': r['iterations'], 'accepted': r['accepted'], 'numpy': np.__version__}))


if __name__ == '__main__':
    main()
