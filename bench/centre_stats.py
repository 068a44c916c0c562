#!/usr/bin/env python3
"""Spread of a model's camera-centre errors: mean, root mean square and
largest (metres), after the same similarity alignment as sfm_eval.py,
whose functions this imports. The median of 8 or 11 cameras, which
sfm_eval.py reports, moves with a single camera; these cover all of them.

usage: centre_stats.py SHARED_DIR MODEL_DIR GT_DIR   (prints "mean rms max")
"""
import sys

import numpy as np

from truth_pairs import read_cameras

sfm_eval, estimated, true, common = read_cameras(*sys.argv[1:4])
if len(common) < 3:
    print("- - -")
    sys.exit(0)
scale, rotation, shift = sfm_eval.umeyama(
    np.array([estimated[n][1] for n in common]), np.array([true[n][1] for n in common]))
errors = np.array([np.linalg.norm(scale * rotation @ estimated[n][1] + shift - true[n][1]) for n in common])
print(f"{errors.mean():.5g} {np.sqrt((errors ** 2).mean()):.5g} {errors.max():.5g}")
