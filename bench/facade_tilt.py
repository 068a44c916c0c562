#!/usr/bin/env python3
"""How far the largest plane among a model's points stands from vertical
(degrees): on photo sets of one facade or wall that plane is the facade,
which stands vertical, so this is how well the model is levelled.

usage: facade_tilt.py MODEL_DIR UP_AXIS   (COLMAP text model; UP_AXIS x, y or z:
       the model's vertical axis, z for heritage, y for COLMAP's aligner)
The plane is found by RANSAC (3,000 triples of points, seeded; inliers within
1 % of the points' median distance from their median), then fitted to its
inliers by least squares.
"""
import os
import sys

import numpy as np

model, axis = sys.argv[1], sys.argv[2]
points = np.array([[float(v) for v in line.split()[1:4]]
                   for line in open(os.path.join(model, "points3D.txt")) if not line.startswith("#")])
rng = np.random.default_rng(0)
band = 0.01 * np.median(np.linalg.norm(points - np.median(points, 0), axis=1))
best = None
for _ in range(3000):
    a, b, c = points[rng.choice(len(points), 3, replace=False)]
    normal = np.cross(b - a, c - a)
    if np.linalg.norm(normal) < 1e-12:
        continue
    inliers = np.abs((points - a) @ normal) < band * np.linalg.norm(normal)
    if best is None or inliers.sum() > best.sum():
        best = inliers
plane = points[best] - points[best].mean(0)
normal = np.linalg.svd(plane)[2][2]
print(f"{np.degrees(np.arcsin(min(1.0, abs(normal['xyz'.index(axis)])))):.2f}")
