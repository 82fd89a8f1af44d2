"""Exercise checks: pass on right answers, and name the usual mistake on wrong ones."""
import numpy as np
import pytest

from course_lib.checks import CheckFailed, expect_close, expect_equal

RNG = np.random.default_rng(0)
E = RNG.standard_normal((4, 3))


def failure(got, expected=E, **kw) -> str:
    with pytest.raises(CheckFailed) as err:
        expect_close("ex 1.2 dL_dW", got, expected, **kw)
    return str(err.value)


def test_matching_arrays_pass():
    expect_close("ex", E + 1e-12, E)


def test_message_names_the_exercise_and_the_max_error():
    got = E.copy()
    got[2, 1] += 0.5
    msg = failure(got)
    assert msg.startswith("[ex 1.2 dL_dW]")
    assert "max abs error 0.5" in msg and "(2, 1)" in msg


def test_none_means_a_forgotten_return():
    assert "return" in failure(None)


def test_shape_mismatch_shows_both_shapes_and_spots_a_transpose():
    msg = failure(E.T)
    assert "(4, 3)" in msg and "(3, 4)" in msg and "transposed" in msg


def test_constant_factor_is_reported_as_a_missing_average():
    msg = failure(E * 32)
    assert "32 times" in msg and "batch" in msg


def test_flipped_sign_is_reported():
    assert "sign" in failure(-E)


def test_nan_is_reported():
    got = E.copy()
    got[0, 0] = np.nan
    assert "NaN" in failure(got)


def test_square_transpose_is_reported():
    sq = RNG.standard_normal((3, 3))
    assert "transpose" in failure(sq.T, sq)


def test_given_hints_are_appended():
    assert "hint: did you use dropout" in failure(E + 1, hints=["did you use dropout"])


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    expect_close("ex", torch.tensor(E), E)


def test_expect_equal():
    expect_equal("ex", 3, 3)
    with pytest.raises(CheckFailed, match="expected 3, got 4"):
        expect_equal("ex", 4, 3)
    with pytest.raises(CheckFailed):
        expect_equal("ex", np.array([1, 2]), np.array([1, 3]))


def test_nan_is_located_where_it_is():
    got = E.copy()
    got[1, 2] = np.nan
    msg = failure(got)
    assert "at index (1, 2)" in msg and "got nan" in msg


def test_flipped_sign_gets_one_hint_not_a_factor_of_minus_one_too():
    msg = failure(-E)
    assert msg.count("hint:") == 1
