"""A model's cameras and the ground truth's, read by sfm_eval.py (found
in SHARED_DIR/tools), for the scripts that score models beyond it."""
import os
import sys


def read_cameras(shared, model, truth):
    """(sfm_eval, estimated, true, common): name -> (world-to-camera
    rotation, centre) for the model in MODEL and the truth in TRUTH, and
    the names they share, sorted."""
    sys.path.insert(0, os.path.join(shared, "tools"))
    import sfm_eval  # noqa: E402  (found through SHARED_DIR/tools)

    estimated = sfm_eval.read_colmap_images(os.path.join(model, "images.txt"))
    true = sfm_eval.read_gt(truth)
    return sfm_eval, estimated, true, sorted(set(estimated) & set(true))
