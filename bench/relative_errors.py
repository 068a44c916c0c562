#!/usr/bin/env python3
"""Errors of a model that no alignment touches: over every pair of its
cameras, the angle between the estimated and the true relative rotation,
and between the estimated and the true direction from one camera to the
other (seen from the first). sfm_eval.py scores each camera after a
similarity fitted to the centres; where the centres lie near a line or
an arc, that fit leaves the roll about it loose, and the cameras'
rotation errors move with it. These do not.

usage: relative_errors.py SHARED_DIR MODEL_DIR GT_DIR
       (prints "rotation_median rotation_mean direction_median direction_mean", degrees)
"""
import itertools
import math
import sys

import numpy as np

from truth_pairs import read_cameras


def rotation_angle(r):
    """Angle (degrees) of rotation matrix r."""
    return math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(r) - 1) / 2))))


def direction_angle(a, b):
    """Angle (degrees) between vectors a and b."""
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


_, estimated, true, common = read_cameras(*sys.argv[1:4])
if len(common) < 2:
    print("- - - -")
    sys.exit(0)
rotations, directions = [], []
for i, j in itertools.combinations(common, 2):
    (ri, ci), (rj, cj) = estimated[i], estimated[j]
    (ti, di), (tj, dj) = true[i], true[j]
    rotations.append(rotation_angle((rj @ ri.T) @ (tj @ ti.T).T))
    directions.append(direction_angle(ri @ (cj - ci), ti @ (dj - di)))
print(f"{np.median(rotations):.5g} {np.mean(rotations):.5g} {np.median(directions):.5g} {np.mean(directions):.5g}")
