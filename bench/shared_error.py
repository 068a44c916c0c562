#!/usr/bin/env python3
"""How much of two models' camera-centre errors they share: each model is
aligned to the truth as sfm_eval.py aligns it (whose functions this
imports), then the median distance (metres) between the two models'
centres, and the median error of their mean against the truth. Where two
models lie much closer to each other than to the truth, most of their
error is common to both (the truth's own error, or what neither models),
and which of them has the lower median is decided within the rest.

usage: shared_error.py SHARED_DIR MODEL_A MODEL_B GT_DIR
       (prints "between_median mean_model_median", or "- -")
"""
import sys

import numpy as np

from truth_pairs import read_cameras

sfm_eval, first, true, _ = read_cameras(sys.argv[1], sys.argv[2], sys.argv[4])
_, second, _, _ = read_cameras(sys.argv[1], sys.argv[3], sys.argv[4])
common = sorted(set(first) & set(second) & set(true))
if len(common) < 3:
    print("- -")
    sys.exit(0)
truth = np.array([true[n][1] for n in common])


def aligned(model):
    """The model's centres of the common cameras, moved onto the truth."""
    centres = np.array([model[n][1] for n in common])
    scale, rotation, shift = sfm_eval.umeyama(centres, truth)
    return scale * centres @ rotation.T + shift


a, b = aligned(first), aligned(second)
between = np.linalg.norm(a - b, axis=1)
mean_error = np.linalg.norm((a + b) / 2 - truth, axis=1)
print(f"{np.median(between):.5g} {np.median(mean_error):.5g}")
