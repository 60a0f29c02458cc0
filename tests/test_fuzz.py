"""Property-based fuzzing of the config loader and the command line (the CI portion: a few hundred inputs;
benchmarks/faults.py runs tens of thousands): every input works or gets gankit's own message, exit code 2,
never a traceback."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_kit import (RECIPES, argvs, assert_clean, assert_config_property, make_damaged_runs, overrides,
                      plausible_configs, raw_configs, run_cli, yaml_texts)
from gankit.config import load_config
from gankit.engine.check import check

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)


@FAST
@given(raw_configs())
def test_fuzzed_config_mappings_load_or_are_refused_by_name(raw):
    assert_config_property(lambda: load_config(raw))


@FAST
@given(st.sampled_from(RECIPES), overrides())
def test_fuzzed_overrides_load_or_are_refused_by_name(recipe, items):
    assert_config_property(lambda: load_config(recipe, items))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          database=None)
@given(yaml_texts())
def test_fuzzed_yaml_files_load_or_are_refused_by_name(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("y") / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert_config_property(lambda: load_config(str(path)))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          database=None)
@given(st.one_of(raw_configs(), plausible_configs()))
def test_fuzzed_configs_build_and_take_a_step_or_are_refused_by_name(raw):
    """Past the loader (plausible_configs mostly load): the data, the networks and one training step, as
    `gankit train --check` does."""
    assert_config_property(lambda: check(raw))


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    return make_damaged_runs(tmp_path_factory.mktemp("runs"))


def test_fuzzed_command_lines_never_answer_with_a_traceback(run_dirs, tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("cli"))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    @given(argvs(run_dirs, tmp))
    def prop(argv):
        rc, out, err = run_cli(argv)
        assert_clean(rc, err, argv)

    prop()
