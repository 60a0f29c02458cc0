"""Time of FID for 10,000 generated MNIST samples, generation included, and the real-data floors.

    python benchmarks/fid_speed.py RUN_DIR [--n 10000]

Prints: seconds to generate n samples, to extract their features, to compute FID (real features of the
first n training images are extracted once beforehand and timed separately, as `gankit eval` caches them),
and the floors (test vs train) of FID, KID, classifier score and precision/recall/density/coverage.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

import gankit
from gankit.metrics import ClassifierFeatures, classifier_score, fid, kid, prdc


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("--n", type=int, default=10_000)
    a = p.parse_args()
    run = gankit.load_run(a.run_dir, device="cpu")
    ext = ClassifierFeatures(run.config.data.name)
    t = time.perf_counter()
    real_f = ext.features(run.data.train[:a.n])
    t_real = time.perf_counter() - t

    t0 = time.perf_counter()
    x = run.model.sample(a.n, generator=torch.Generator().manual_seed(0))
    t1 = time.perf_counter()
    fake_f = ext.features(x)
    t2 = time.perf_counter()
    score = fid(real_f, fake_f)
    t3 = time.perf_counter()

    test_f, test_p = ext.features_and_probs(run.data.test[:a.n])
    floors = {"fid": fid(real_f, test_f), "kid": kid(real_f, test_f)[0], "classifier_score":
              classifier_score(test_p)[0], **prdc(real_f, test_f)}
    print(json.dumps({"n": a.n, "threads": torch.get_num_threads(), "generate_s": round(t1 - t0, 2),
                      "features_s": round(t2 - t1, 2), "fid_s": round(t3 - t2, 2),
                      "total_s": round(t3 - t0, 2), "real_features_once_s": round(t_real, 2), "fid": round(score, 3),
                      "floors_test_vs_train": {k: round(v, 4) for k, v in floors.items()}}, indent=1))


if __name__ == "__main__":
    main()
