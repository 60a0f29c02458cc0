"""The note on other processes sharing the CPU cores (engine/cores.py)."""
from gankit.engine import cores


def test_busy_cores_reads_the_share_of_busy_time_over_the_interval():
    samples = iter([(100.0, 1000.0), (100.0 + 150.0, 1000.0 + 200.0)])   # 150 of 200 jiffies busy
    busy = cores.busy_cores(2, read=lambda: next(samples), sleep=lambda s: None)
    assert busy == 1.5


def test_busy_cores_is_none_without_proc_stat(tmp_path):
    assert cores.cpu_times(str(tmp_path / "missing")) is None
    assert cores.busy_cores(2, read=lambda: None, sleep=lambda s: None) is None


def test_cpu_times_parses_the_aggregate_line(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  10 2 30 400 5 6 7 8 9 10\ncpu0 1 1 1 1 1 1 1 1 1 1\n")
    busy, total = cores.cpu_times(str(stat))
    assert total == 10 + 2 + 30 + 400 + 5 + 6 + 7 + 8 and busy == total - 405


def test_the_note_names_the_threads_that_fit():
    note = cores.contention_note(threads=2, cores=2, busy=1.0)
    assert note and "train.threads=1" in note and "~1.0 of this machine's 2" in note
    assert cores.contention_note(threads=8, cores=16, busy=3.0) is None     # enough free cores
    assert cores.contention_note(threads=2, cores=2, busy=0.2) is None      # an idle machine
    assert cores.contention_note(threads=1, cores=2, busy=2.0) is None      # one thread waits on nobody
    assert cores.contention_note(threads=2, cores=2, busy=None) is None     # not measurable here


def test_the_live_measurement_is_a_share_of_the_cores():
    busy = cores.busy_cores(cores.usable_cores(), interval=0.05)
    assert busy is None or 0 <= busy <= cores.usable_cores() + 0.01
