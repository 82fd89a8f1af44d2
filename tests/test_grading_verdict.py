"""The grader's own verdict: a check passes only when its value matches the instructor's."""
import json

import numpy as np
import pytest

from course_lib.grading.verdict import Observation, compare, decode
from course_lib.grading.worker import _encode


def observed(kind, exercise, got, **params):
    """An observation as the grader receives it: encoded by the worker, sent as JSON, decoded."""
    entry = {"kind": kind, "exercise": exercise, "value": _encode(kind, got), "params": params}
    return decode(json.loads(json.dumps([entry])))[0]


REF = [observed("close", "ex_softmax", np.array([[0.2, 0.8], [0.5, 0.5]]), rtol=1e-6, atol=1e-8,
                hints=["work along each row"]),
       observed("equal", "ex_softmax", (2, 2), what="shape")]


def test_the_same_values_match():
    assert compare(REF, [observed("close", "ex_softmax", [[0.2, 0.8], [0.5, 0.5]]),
                         observed("equal", "ex_softmax", (2, 2))]) is None


def test_a_wrong_value_fails_with_the_error_and_the_reference_hint():
    msg = compare(REF, [observed("close", "ex_softmax", [[0.2, 0.8], [0.5, 0.6]]),
                        observed("equal", "ex_softmax", (2, 2))])
    assert "check 1 of 2 [ex_softmax]" in msg and "max abs error 0.1" in msg
    assert "(1, 1)" in msg and "work along each row" in msg


def test_tolerance_comes_from_the_reference_not_from_the_student():
    loose = observed("close", "ex_softmax", [[0.2, 0.8], [0.5, 0.6]], rtol=1e9, atol=1e9)
    assert compare(REF, [loose, observed("equal", "ex_softmax", (2, 2))]) is not None


def test_a_missing_or_extra_or_other_check_fails():
    assert "never reached" in compare(REF, REF[:1])
    assert "reported 3 checks" in compare(REF, [*REF, REF[0]])
    other = observed("close", "ex_jacobian", [[0.2, 0.8], [0.5, 0.5]])
    assert "a different check ran here" in compare(REF, [other, REF[1]])


def test_a_transposed_shape_is_named():
    msg = compare(REF[:1], [observed("close", "ex_softmax", np.ones((2, 3)))])
    assert "expected shape (2, 2), got shape (2, 3)" in msg
    ref = [observed("close", "ex", np.ones((2, 3)))]
    assert "transposed" in compare(ref, [observed("close", "ex", np.ones((3, 2)))])


def test_a_constant_factor_is_diagnosed_here_not_in_the_kernel():
    ref = [observed("close", "ex_grad", np.arange(1.0, 7.0).reshape(2, 3))]
    msg = compare(ref, [observed("close", "ex_grad", 6 * np.arange(1.0, 7.0).reshape(2, 3))])
    assert "6 times the expected one" in msg


def test_nan_never_matches():
    ref = [observed("close", "ex", np.array([1.0, np.nan]))]
    assert compare(ref, [observed("close", "ex", np.array([1.0, np.nan]))]) is not None


def test_equal_compares_type_and_value():
    ref = [observed("equal", "ex", "ndarray", what="return type")]
    assert compare(ref, [observed("equal", "ex", "ndarray")]) is None
    assert "expected 'ndarray', got 'list'" in compare(ref, [observed("equal", "ex", "list")])
    assert compare([observed("equal", "ex", 3)], [observed("equal", "ex", 3.0)]) is not None


@pytest.mark.parametrize("entries", [
    "not a list",
    [{"kind": "verdict", "value": {"json": True}}],
    [{"kind": "close", "exercise": "ex", "value": {"array": "AAAA", "shape": [5]}}],
    [{"kind": "close", "exercise": "ex", "value": {"array": "!!", "shape": [1]}}],
    [{"kind": "close", "exercise": "ex", "value": {"array": "", "shape": [-1]}}],
    [{"kind": "close", "exercise": "ex", "value": "raw"}],
])
def test_malformed_reports_are_refused(entries):
    with pytest.raises(ValueError):
        decode(entries)


def test_an_observation_is_plain_data():
    obs = observed("close", "ex", [1, 2])
    assert isinstance(obs, Observation) and obs.value.dtype == np.float64 and obs.value.shape == (2,)
