#!/usr/bin/env python3
"""How far a model's vertical axis is from the true vertical (degrees), on
photo sets whose ground-truth cameras are in a levelled frame (the Strecha
sets: their frame's z axis points down, the photos' x axes lie within about
a degree of level). The model's camera centres are aligned to the ground
truth's by a similarity (as sfm_eval.py aligns them); the model's vertical
axis, carried by that rotation, is compared with the ground truth's z.

usage: gt_tilt.py MODEL_DIR GT_DIR UP_AXIS   (COLMAP text model; UP_AXIS x, y
       or z: the model's vertical axis, z for heritage, y for COLMAP's aligner)
"""
import os
import sys

import numpy as np

model, gt_dir, axis = sys.argv[1], sys.argv[2], sys.argv[3]


def quaternion_matrix(w, x, y, z):
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


ours = {}
lines = [l for l in open(os.path.join(model, "images.txt")) if not l.startswith("#")]
for line in lines[::2]:
    v = line.split()
    rotation = quaternion_matrix(*map(float, v[1:5]))
    ours[v[9]] = -rotation.T @ np.array(v[5:8], float)
truth = {}
for name in os.listdir(gt_dir):
    v = open(os.path.join(gt_dir, name)).read().split()
    truth[name[:-len(".camera")]] = np.array(v[21:24], float)
names = sorted(set(ours) & set(truth))
a = np.array([ours[n] for n in names])
b = np.array([truth[n] for n in names])
a0, b0 = a - a.mean(0), b - b.mean(0)
u, _, vt = np.linalg.svd(b0.T @ a0)
d = np.diag([1, 1, np.sign(np.linalg.det(u @ vt))])
rotation = u @ d @ vt  # model to ground truth
vertical = rotation @ np.eye(3)["xyz".index(axis)]
print(f"{np.degrees(np.arccos(min(1.0, abs(vertical[2])))):.2f}")
