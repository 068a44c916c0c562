#!/usr/bin/env python3
"""How well a model's tracks agree with the ground-truth cameras, by the
keypoints' scale: each point seen in three or more photos is triangulated
from its observations with the true cameras alone (linear, then
Gauss-Newton on the reprojection error), and each observation's distance
from that point's projection is its error. The model's own poses play no
part, so this measures the features and the matches that built the
tracks, not the mapper: a share of errors over 1 or 2 px that is higher
than the peer's at the same scale means more mismatched or poorly placed
observations.

usage: track_precision.py MODEL_DIR DATABASE GT_DIR
  MODEL_DIR  COLMAP text model (images.txt lists every keypoint in order)
  DATABASE   the COLMAP database the model was made from (keypoint scales)
  GT_DIR     Strecha NAME.camera files
prints one line per scale band (keypoint sigma in pixels), then "all":
  "band count median share_over_1px share_over_2px"
"""
import os
import sqlite3
import sys

import numpy as np

BANDS = [(0.0, 2.5), (2.5, 4.0), (4.0, 8.0), (8.0, float("inf"))]


def read_truth(folder):
    """photo name -> 3x4 projection matrix of each true camera (NAME.camera
    is the camera of photo NAME)."""
    cameras = {}
    for file in os.listdir(folder):
        if not file.endswith(".camera"):
            continue
        v = [float(x) for x in open(os.path.join(folder, file)).read().split()]
        k, to_world, centre = np.array(v[:9]).reshape(3, 3), np.array(v[12:21]).reshape(3, 3), np.array(v[21:24])
        rotation = to_world.T
        cameras[file[: -len(".camera")]] = k @ np.hstack([rotation, (-rotation @ centre)[:, None]])
    return cameras


def read_tracks(model):
    """point id -> [(image name, keypoint index, x, y)] from images.txt."""
    lines = [line for line in open(os.path.join(model, "images.txt")) if not line.startswith("#")]
    tracks = {}
    for header, points in zip(lines[0::2], lines[1::2]):
        name = os.path.basename(header.split()[9])
        values = points.split()
        for index in range(len(values) // 3):
            x, y, point = values[3 * index : 3 * index + 3]
            if int(point) >= 0:
                tracks.setdefault(int(point), []).append((name, index, float(x), float(y)))
    return tracks


def read_scales(database):
    """image name -> keypoint scales (sigma, pixels): the third column of
    four, or the square root of an affine frame's determinant."""
    db = sqlite3.connect(database)
    names = dict(db.execute("SELECT image_id, name FROM images"))
    scales = {}
    for image, rows, cols, data in db.execute("SELECT image_id, rows, cols, data FROM keypoints"):
        k = np.frombuffer(data, dtype=np.float32).reshape(rows, cols)
        scale = k[:, 2] if cols == 4 else np.sqrt(np.abs(k[:, 2] * k[:, 5] - k[:, 3] * k[:, 4]))
        scales[os.path.basename(names[image])] = scale
    return scales


def residuals(projections, pixels):
    """Reprojection errors of the point triangulated from `pixels` seen by
    `projections` (linear, then five Gauss-Newton steps)."""
    rows = [row for p, (x, y) in zip(projections, pixels) for row in (x * p[2] - p[0], y * p[2] - p[1])]
    point = np.linalg.svd(np.array(rows))[2][-1]
    point = point[:3] / point[3]
    for _ in range(5):
        jacobian, error = [], []
        for p, (x, y) in zip(projections, pixels):
            h = p @ np.append(point, 1.0)
            jacobian += [(p[0, :3] - h[0] / h[2] * p[2, :3]) / h[2], (p[1, :3] - h[1] / h[2] * p[2, :3]) / h[2]]
            error += [h[0] / h[2] - x, h[1] / h[2] - y]
        point -= np.linalg.lstsq(np.array(jacobian), np.array(error), rcond=None)[0]
    projected = [p @ np.append(point, 1.0) for p in projections]
    return [float(np.hypot(h[0] / h[2] - x, h[1] / h[2] - y)) for h, (x, y) in zip(projected, pixels)]


def main():
    model, database, truth = sys.argv[1:4]
    cameras, scales = read_truth(truth), read_scales(database)
    errors, sigmas = [], []
    for track in read_tracks(model).values():
        seen = [t for t in track if t[0] in cameras]
        if len(seen) < 3:
            continue
        projections = [cameras[name] for name, _, _, _ in seen]
        errors += residuals(projections, [(x, y) for _, _, x, y in seen])
        sigmas += [scales[name][index] for name, index, _, _ in seen]
    errors, sigmas = np.array(errors), np.array(sigmas)
    for label, (low, high) in [(f"{lo:g}-{hi:g}", (lo, hi)) for lo, hi in BANDS] + [("all", (0.0, float("inf")))]:
        chosen = errors[(sigmas >= low) & (sigmas < high)]
        if len(chosen) == 0:
            print(f"{label} 0 - - -")
            continue
        print(f"{label} {len(chosen)} {np.median(chosen):.3f} {(chosen > 1).mean():.3f} {(chosen > 2).mean():.3f}")


if __name__ == "__main__":
    main()
