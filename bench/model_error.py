#!/usr/bin/env python3
"""Compare a COLMAP text model with a ground-truth COLMAP text model.

usage: bench/model_error.py MODEL_DIR TRUTH_DIR

Images are paired by file name (the last path component). The model's
camera centres are aligned to the truth's by a least-squares similarity
(Umeyama), then the rotation and centre error of every shared image is
measured. Prints: registered, rot_median_deg, pos_median (truth units),
pos_median_rel (share of the truth cameras' extent), and the worst photos.
"""
import sys

import numpy as np


def read_images(path):
    """Name -> (R world-to-camera, centre) from images.txt."""
    poses = {}
    with open(f"{path}/images.txt", encoding="utf-8") as f:
        lines = [l for l in f if not l.startswith("#")]
    for header in lines[0::2]:
        v = header.split()
        if len(v) < 10:
            continue
        qw, qx, qy, qz, tx, ty, tz = map(float, v[1:8])
        r = np.array([
            [1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)],
            [2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)],
            [2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)],
        ])
        t = np.array([tx, ty, tz])
        poses[" ".join(v[9:]).split("/")[-1]] = (r, -r.T @ t)
    return poses


def umeyama(a, b):
    """s, R, t with b ~ s R a + t."""
    ma, mb = a.mean(0), b.mean(0)
    cov = (b - mb).T @ (a - ma) / len(a)
    u, d, vt = np.linalg.svd(cov)
    s = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        s[2, 2] = -1
    r = u @ s @ vt
    scale = np.trace(np.diag(d) @ s) / ((a - ma) ** 2).sum(1).mean()
    return scale, r, mb - scale * r @ ma


def main():
    model, truth = read_images(sys.argv[1]), read_images(sys.argv[2])
    names = sorted(set(model) & set(truth))
    print(f"registered: {len(names)} of {len(truth)}")
    if len(names) < 3:
        return
    a = np.array([model[n][1] for n in names])
    b = np.array([truth[n][1] for n in names])
    s, r, t = umeyama(a, b)
    rot, pos = [], []
    for n in names:
        aligned = model[n][0] @ r.T
        cos = (np.trace(aligned.T @ truth[n][0]) - 1) / 2
        rot.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
        pos.append(np.linalg.norm(s * r @ model[n][1] + t - truth[n][1]))
    centres = np.array([truth[n][1] for n in truth])
    extent = np.linalg.norm(centres.max(0) - centres.min(0))
    print(f"rot_median_deg: {np.median(rot):.4f}")
    print(f"rot_max_deg: {np.max(rot):.4f}")
    print(f"pos_median: {np.median(pos):.4f}")
    print(f"pos_median_rel: {np.median(pos) / extent:.6f}")
    worst = sorted(zip(rot, pos, names), reverse=True)[:3]
    print("worst: " + ", ".join(f"{n} {e:.2f} deg {p:.3f}" for e, p, n in worst))


if __name__ == "__main__":
    main()
