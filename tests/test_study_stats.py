"""The study's statistics against known values."""
import math
from pathlib import Path

import pytest

from gankit.study import stats
from gankit.study.results import aggregate_curves, best_so_far

# Welch's t-test, example 1 of its Wikipedia article: t = -2.46, df = 24.99, p = 0.021.
A1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
A2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]


def test_welch_matches_the_textbook_example_and_scipy():
    from scipy.stats import ttest_ind

    w = stats.welch(A1, A2)
    assert w["t"] == pytest.approx(-2.46, abs=0.005)
    assert w["df"] == pytest.approx(24.99, abs=0.005)
    assert w["p"] == pytest.approx(0.021, abs=0.0005)
    ref = ttest_ind(A1, A2, equal_var=False)
    assert w["t"] == pytest.approx(ref.statistic) and w["p"] == pytest.approx(ref.pvalue)


def test_welch_edge_cases():
    assert stats.welch([1.0], [2.0, 3.0]) is None                       # no variance to test with one seed
    assert stats.welch([2.0, 2.0], [2.0, 2.0])["p"] == 1.0               # identical, no spread
    assert stats.welch([2.0, 2.0], [3.0, 3.0])["p"] == 0.0               # different, no spread
    assert stats.welch([1.0, math.inf], [1.0, 2.0]) is None


def test_summarize_uses_the_sample_standard_deviation():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0])
    assert s["mean"] == 2.5 and s["std"] == pytest.approx(math.sqrt(5 / 3)) and s["n"] == 4
    assert stats.summarize([5.0])["std"] == 0.0
    assert stats.summarize([None, math.nan])["mean"] is None
    inf = stats.summarize([1.0, math.inf])
    assert inf["mean"] == math.inf and inf["std"] is None


def test_rank_marks_the_best_and_what_is_within_noise():
    summary = {"a": stats.summarize([10.0, 11.0, 12.0]), "b": stats.summarize([10.5, 11.5, 12.5]),
               "c": stats.summarize([30.0, 31.0, 29.0])}
    best, tests = stats.rank(summary, "fid")                 # lower is better
    assert best == "a"
    assert tests["b"]["within_noise"] and not tests["c"]["within_noise"]
    assert stats.rank(summary, "modes")[0] == "c"            # higher is better
    assert stats.rank(summary, "kid_std") == (None, {})      # a diagnostic is not ranked
    assert stats.direction("test_error") == "min" and stats.direction("q_accuracy") == "max"
    assert stats.direction("a2b_class_nmi") == "max" and stats.direction("b2a_class_map") is None
    assert stats.direction("b2a_fid") == "min" and stats.direction("a2b_label_flip") == "min"


def test_curves_over_seeds_and_the_best_reachable_within_a_budget():
    assert best_so_far([(2, 5.0), (1, 9.0), (3, 7.0)], "min") == [(1, 9.0), (2, 5.0), (3, 5.0)]
    assert best_so_far([(1, 2.0), (2, 1.0)], "max") == [(1, 2.0), (2, 2.0)]
    agg = aggregate_curves([{"fid": [(1, 10.0), (2, 8.0)]}, {"fid": [(1, 12.0)]}])["fid"]
    assert agg["x"] == [1, 2] and agg["mean"] == [11.0, 8.0] and agg["n"] == [2, 1]
    assert agg["std"][0] == pytest.approx(math.sqrt(2.0))


def test_join_results_pools_seeds_of_several_studies_and_counts_each_seed_once(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("join_results", Path(__file__).parents[1] / "benchmarks" / "join_results.py")
    join_results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(join_results)
    head = "label,recipe,seed,status,fid\n"
    (tmp_path / "a.csv").write_text(head + "x,x,0,finished,10\ny,y,0,finished,30\ny,y,1,failed,\n")
    (tmp_path / "b.csv").write_text(head + "x,x,1,finished,14\nx,x,2,finished,12\ny,y,2,finished,31\n")
    runs, order = join_results.join([str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], ["fid"])
    assert order == ["x", "y"] and sorted(runs["x"]) == [0, 1, 2] and sorted(runs["y"]) == [0, 2]
    md = join_results.table(runs, order, ["fid"])
    assert "| x | 3 | **12 ± 2** |" in md and "| y | 2 | 30.5 ± 0.707 |" in md   # y is worse beyond noise: no ≈
    with pytest.raises(SystemExit, match="x seed 0 is in more than one file"):
        join_results.join([str(tmp_path / "a.csv"), str(tmp_path / "a.csv")], ["fid"])
    with pytest.raises(SystemExit, match="no column 'kid'"):
        join_results.join([str(tmp_path / "a.csv")], ["kid"])
