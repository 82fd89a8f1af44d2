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


def test_a_mistakes_hint_shows_only_when_got_equals_that_mistakes_value():
    wrong = 32 * E
    msg = failure(wrong, mistakes=[("you summed over the batch", wrong)], hints=["generic advice"])
    assert "you summed over the batch" in msg and "generic advice" not in msg
    msg = failure(E + 1, mistakes=[("you summed over the batch", wrong)], hints=["generic advice"])
    assert "you summed" not in msg and "generic advice" in msg


def test_one_number_is_not_diagnosed_as_a_constant_factor():
    with pytest.raises(CheckFailed) as err:
        expect_close("ex", 3.7, 1.2)
    assert "times the expected" not in str(err.value)


def test_mistakes_and_properties_are_not_reported_to_observers():
    from course_lib import checks

    seen = []
    checks.OBSERVERS.append(lambda *args: seen.append(args))
    try:
        expect_close("ex", E, E, mistakes=[("m", E)], properties=[("p", lambda got: True)])
    finally:
        checks.OBSERVERS.pop()
    assert seen == [("close", "ex", E, {"rtol": 1e-6, "atol": 1e-8, "hints": []})]


def test_call_turns_a_usual_error_into_a_message_and_keeps_the_students_error():
    from course_lib.checks import call

    def softmax(O):
        return O - O.max(axis=1)

    with pytest.raises(CheckFailed) as err:
        call("ex_softmax", softmax, np.ones((3, 2)), errors=[("keepdims=True", "could not be broadcast")])
    assert str(err.value).startswith("[ex_softmax] softmax raised ValueError")
    assert "hint: keepdims=True" in str(err.value) and isinstance(err.value.__cause__, ValueError)
    with pytest.raises(ValueError):  # no rule fits: the student's own error, unchanged
        call("ex_softmax", softmax, np.ones((3, 2)), errors=[("other", "no such text")])


def test_a_failed_check_renders_its_message_first_and_no_course_frames():
    # What IPython shows for a CheckFailed (outside IPython: without the student's traceback).
    with pytest.raises(CheckFailed) as err:
        expect_close("ex_softmax", 2 * E, E, hints=["a hint"])
    lines = err.value._render_traceback_()
    assert "[ex_softmax] does not match" in lines[0] and any("hint: a hint" in line for line in lines)
    assert not any("checks.py" in line for line in lines) and "%tb verbose" in lines[-1]
