"""The usual mistakes of every exercise fail a *visible* check, each with its own hint.

Each row is a small variant of the instructor's solution: ``old`` → ``new`` in one solution
cell. The set runs in-process (its code cells exec'd in one namespace, as a kernel would; no
Jupyter), with the student copy's check cells, so only visible checks can catch the mistake.
The unchanged solution passes every visible check.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course_lib import dependencies
from course_lib import checks
from course_lib.checks import CheckFailed

# The mistakes divide by zero and overflow on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
ROOT = Path(__file__).resolve().parents[1]
SETS = sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def _cells(path: Path) -> list[tuple[str, str, dict]]:
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]), c["metadata"].get("nbgrader", {}))
            for c in nb["cells"]]


def run_set(name: str, variant: tuple[str, str, str] | None = None, until: str | None = None) -> None:
    """Run set ``name``: the solution's own cells, the student copy's (visible) check cells, in a
    fresh namespace, as a new kernel would.

    ``variant`` = (grade_id, old, new) changes one solution cell; ``until`` stops after that
    check cell, and the check cells before it may fail, as for a student who ran each check and
    went on (a variant made to test a later check's "fix exercise N first" fails an earlier one).
    """
    solution, student = _cells(ROOT / "solutions" / name), _cells(ROOT / "exercises" / name)
    assert len(solution) == len(student), f"exercises/{name} is out of date: build-exercises"
    dependencies.reset()
    namespace: dict = {"__name__": "__main__"}
    for (kind, source, meta), (_, visible, _) in zip(solution, student):
        if kind != "code":
            continue
        gid = meta.get("grade_id", "")
        is_check = meta.get("grade") and not meta.get("solution")
        if variant and gid == variant[0]:
            assert variant[1] in source, f"{name} {gid}: {variant[1]!r} is not in the solution"
            source = source.replace(variant[1], variant[2])
        if is_check:
            source = visible  # hidden tests are not in the student copy
        code = compile(source, f"<{name} {gid or 'cell'}>", "exec")
        if is_check and until and gid != until:
            try:
                exec(code, namespace)
            except Exception:  # noqa: BLE001 - seen by the student, who went on
                pass
            continue
        exec(code, namespace)
        if until and gid == until:
            return


# (set, solution cell, old, new, check cell, text of the hint that must appear)
S01, S02, S03 = "01_softmax_cross_entropy.ipynb", "02_backprop_scalar.ipynb", "03_vectorised_mnist.ipynb"
S04, S05, S06 = "04_module_framework.ipynb", "05_autograd.ipynb", "06_numpy_vs_pytorch.ipynb"
S07, S08, S09 = "07_adam.ipynb", "08_words_to_vectors.ipynb", "09_bptt.ipynb"
S10 = "10_rnn_pieces.ipynb"
# Set 07's Adam step, so that its rows can move the step count rather than repeat the body.
ADAM_STEP = """        self.t += 1
        beta1, beta2 = self.betas
        for i, p in enumerate(self.params):
            self.m[i] = beta1 * self.m[i] + (1 - beta1) * p.grad
            self.v[i] = beta2 * self.v[i] + (1 - beta2) * p.grad ** 2
            m_hat = self.m[i] / (1 - beta1 ** self.t)
            v_hat = self.v[i] / (1 - beta2 ** self.t)
            p.value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)"""
ADAM_STEP_WITHOUT_COUNT = ADAM_STEP.replace("        self.t += 1\n", "")
MISTAKES = [
    # set 01
    (S01, "ex_softmax", "O.max(axis=1, keepdims=True)", "O.max(axis=1)", "ex_softmax_check", "keepdims=True"),
    (S01, "ex_softmax", "E.sum(axis=1, keepdims=True)", "E.sum(axis=0, keepdims=True)", "ex_softmax_check",
     "you normalised the columns"),
    (S01, "ex_softmax", "E = np.exp(O - O.max(axis=1, keepdims=True))",
     "O -= O.max(axis=1, keepdims=True)\n    E = np.exp(O)", "ex_softmax_check", "changed its input O"),
    (S01, "ex_softmax", "np.exp(O - O.max(axis=1, keepdims=True))", "np.exp(O)", "ex_softmax_check",
     "subtract each row's maximum"),
    (S01, "ex_softmax", "O.max(axis=1, keepdims=True)", "O.max()", "ex_softmax_check", "each row's own maximum"),
    (S01, "ex_softmax", "return E / E.sum(axis=1, keepdims=True)", "return E", "ex_softmax_check",
     "you returned the exponentials"),
    (S01, "ex_softmax", "E / E.sum(axis=1, keepdims=True)", "E / E.sum()", "ex_softmax_check",
     "the sum of the whole batch"),
    (S01, "ex_softmax", "O.max(axis=1, keepdims=True)", "O.max(axis=0, keepdims=True)", "ex_softmax_check",
     "each column's maximum"),
    (S01, "ex_softmax", "O.max(axis=1, keepdims=True)", "O.min(axis=1, keepdims=True)", "ex_softmax_check",
     "not its minimum"),
    (S01, "ex_softmax", "E / E.sum(axis=1, keepdims=True)", "E / (1 + E.sum(axis=1, keepdims=True))",
     "ex_softmax_check", "breaks this property: each row sums to 1"),
    (S01, "ex_cross_entropy", "].mean())", "].sum())", "ex_cross_entropy_check", "you summed"),
    (S01, "ex_cross_entropy", "log_Y[np.arange(len(c)), c]", "log_Y[:, c]", "ex_cross_entropy_check",
     "log_Y[:, c] is a B x B matrix"),
    (S01, "ex_cross_entropy", "float(-log_Y", "float(log_Y", "ex_cross_entropy_check", "MINUS the mean"),
    (S01, "ex_cross_entropy",
     "log_Y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
     "log_Y = np.log(np.exp(O) / np.exp(O).sum(axis=1, keepdims=True))", "ex_cross_entropy_check", "log-sum-exp"),
    (S01, "ex_cross_entropy", "float(-log_Y[np.arange(len(c)), c].mean())", "-log_Y[np.arange(len(c)), c]",
     "ex_cross_entropy_check", "one loss per example"),
    (S01, "ex_cross_entropy", "log_Y[np.arange(len(c)), c]", "np.log(O[np.arange(len(c)), c])",
     "ex_cross_entropy_check", "the log of the logits themselves"),
    (S01, "ex_cross_entropy", "shifted = O - O.max(axis=1, keepdims=True)", "shifted = O", "ex_cross_entropy_check",
     "np.exp(1000) overflows"),
    (S01, "ex_grad_logits", "return G / B", "return G", "ex_grad_logits_check", "divided by B"),
    (S01, "ex_grad_logits", "G[np.arange(B), c] -= 1", "G[:, c] -= 1", "ex_grad_logits_check",
     "changes whole columns"),
    (S01, "ex_grad_logits", "G = softmax(O)", "O -= O.max(axis=1, keepdims=True)\n    G = softmax(O)",
     "ex_grad_logits_check", "changed its input O"),
    (S01, "ex_grad_logits", "return G / B", "return -G / B", "ex_grad_logits_check", "the sign"),
    (S01, "ex_grad_logits", "G[np.arange(B), c] -= 1", "G = G - np.eye(O.shape[1])[:, c]", "ex_grad_logits_check",
     "your one-hot is (K, B)"),
    (S01, "ex_grad_logits", "    G[np.arange(B), c] -= 1\n", "", "ex_grad_logits_check", "you left out the one-hot"),
    (S01, "ex_grad_logits", "G[np.arange(B), c] -= 1", "G[np.arange(B), c] -= 0.5", "ex_grad_logits_check",
     "breaks this property: each row sums to 0"),
    (S01, "ex_softmax", "return E / E.sum(axis=1, keepdims=True)", "return E", "ex_grad_logits_check",
     "exercise 1 (`softmax`) is wrong"),
    (S01, "ex_softmax", "O.max(axis=1, keepdims=True)", "O.max(axis=1)", "ex_grad_logits_check",
     "exercise 1 (`softmax`) is wrong"),
    (S01, "ex_jacobian", "np.diag(y) - np.outer(y, y)", "-np.outer(y, y)", "ex_jacobian_check", "delta_ij"),
    (S01, "ex_jacobian", "np.diag(y) - np.outer(y, y)", "np.diag(y * (1 - y))", "ex_jacobian_check",
     "not 0"),
    (S01, "ex_jacobian", "np.diag(y) - np.outer(y, y)", "np.diag(y) - y @ y", "ex_jacobian_check",
     "not y @ y"),
    (S01, "ex_jacobian", "np.diag(y) - np.outer(y, y)", "y * (1 - y)", "ex_jacobian_check", "only the diagonal"),
    (S01, "ex_jacobian", "np.diag(y) - np.outer(y, y)", "np.diag(y) - y * y", "ex_jacobian_check", "not y * y"),
    (S01, "ex_jacobian", "np.diag(y) - np.outer(y, y)", "np.outer(y, y) - np.diag(y)", "ex_jacobian_check",
     "not outer(y, y) - diag(y)"),
    (S01, "ex_jacobian", "return np.diag(y) - np.outer(y, y)",
     "s = softmax(y[None])[0]\n    return np.diag(s) - np.outer(s, s)", "ex_jacobian_check", "do not apply softmax"),
    (S01, "ex_jacobian", "np.diag(y) - np.outer(y, y)", "np.diag(y) - np.outer(y, y) / 2", "ex_jacobian_check",
     "breaks this property: each row sums to 0"),
    # set 02
    (S02, "ex_sigmoid_grad", "s = sigmoid(k)\n    return s * (1 - s)", "return k * (1 - k)",
     "ex_sigmoid_grad_check", "not k * (1 - k)"),
    (S02, "ex_sigmoid_grad", "return s * (1 - s)", "return s * (s - 1)", "ex_sigmoid_grad_check",
     "never negative"),
    (S02, "ex_sigmoid_grad", "return s * (1 - s)", "return 1 - s ** 2", "ex_sigmoid_grad_check",
     "the derivative of tanh"),
    (S02, "ex_sigmoid_grad", "s = sigmoid(k)\n    return s * (1 - s)", "e = math.exp(-k)\n    return e / (1 + e) ** 2",
     "ex_sigmoid_grad_check", "math.exp overflows"),
    (S02, "ex_sigmoid_grad", "return s * (1 - s)", "return s", "ex_sigmoid_grad_check", "you returned sigma(k) itself"),
    (S02, "ex_sigmoid_grad", "return s * (1 - s)", "return s * s", "ex_sigmoid_grad_check",
     "breaks this property: sigma'(k) lies between 0 and 1/4"),
    (S02, "ex_backward_output", "y[m] - (1.0 if m == c else 0.0)", "(1.0 if m == c else 0.0) - y[m]",
     "ex_backward_output_check", "not onehot(c) - y"),
    (S02, "ex_backward_output", "[y[m] - (1.0 if m == c else 0.0) for m in range(n_out)]", "list(y)",
     "ex_backward_output_check", "you returned y itself"),
    (S02, "ex_backward_output", "for m in range(n_out)] for j in range(n_hidden)]",
     "for j in range(n_hidden)] for m in range(n_out)]", "ex_backward_output_check", "one row per output m"),
    (S02, "ex_backward_output", "sum(dL_do[m] * W2[j][m] for m in range(n_out))", "dL_do[c] * W2[j][c]",
     "ex_backward_output_check", "not only the true class"),
    (S02, "ex_backward_output", "dL_do[m] * h[j] for m", "y[m] * h[j] for m", "ex_backward_output_check",
     "you multiplied h_j by y_m"),
    (S02, "ex_backward_output", "sum(dL_do[m] * W2[j][m]", "sum(y[m] * W2[j][m]", "ex_backward_output_check",
     "you summed y_m * W2[j][m]"),
    (S02, "ex_backward_output", "(1.0 if m == c else 0.0)", "(0.5 if m == c else 0.0)", "ex_backward_output_check",
     "breaks this property: the entries sum to 0"),
    (S02, "ex_backward_hidden", "dL_dh[j] * h[j] * (1 - h[j])", "h[j] * (1 - h[j])", "ex_backward_hidden_check",
     "the chain rule: multiply"),
    (S02, "ex_backward_hidden", "dL_dh[j] * h[j] * (1 - h[j])", "dL_dh[j] * sigmoid_grad(h[j])",
     "ex_backward_hidden_check", "takes the sigmoid twice"),
    (S02, "ex_backward_hidden", "for j in range(n_hidden)] for i in range(n_in)]",
     "for i in range(n_in)] for j in range(n_hidden)]", "ex_backward_hidden_check", "one row per hidden unit j"),
    (S02, "ex_backward_hidden", "dL_dh[j] * h[j] * (1 - h[j])", "dL_dh[j] * (1 - h[j] ** 2)",
     "ex_backward_hidden_check", "the derivative of tanh"),
    (S02, "ex_backward_hidden", "dL_dk[j] * x[i] for j", "dL_dh[j] * x[i] for j", "ex_backward_hidden_check",
     "you used dL/dh_j"),
    (S02, "ex_backward_hidden", "dL_dh[j] * h[j] * (1 - h[j])", "dL_dh[j] * h[j]", "ex_backward_hidden_check",
     "at most a quarter of its size"),
    (S02, "ex_sgd_step", "params[name][i][j] -= lr *", "params[name][i][j] += lr *", "ex_sgd_step_check",
     "you added the gradient"),
    (S02, "ex_sgd_step", "-= lr * grads[name][i][j]", "-= grads[name][i][j]", "ex_sgd_step_check",
     "scale the gradient by the learning rate"),
    (S02, "ex_sgd_step", "params[name][i][j] -= lr * grads[name][i][j]",
     "w = params[name][i][j]\n                w -= lr * grads[name][i][j]", "ex_sgd_step_check", "changes only w"),
    (S02, "ex_sgd_step", '    for name in ("b1", "b2"):\n        for j in range(len(params[name])):\n'
     "            params[name][j] -= lr * grads[name][j]\n", "", "ex_sgd_step_check", "update the biases too"),
    (S02, "ex_sgd_step", "            params[name][j] -= lr * grads[name][j]\n",
     "            params[name][j] -= lr * grads[name][j]\n    return params\n", "ex_sgd_step_check",
     "updates params in place and returns None"),
    (S02, "ex_sgd_step", "-= lr * grads[name][i][j]", "-= lr * grads[name][i][j] ** 2", "ex_sgd_step_check",
     "breaks this property: each entry moves against its gradient"),
    (S02, "ex_train", '        sgd_step(params, {"W1": dL_dW1, "b1": dL_db1, "W2": dL_dW2, "b2": dL_db2}, lr)\n', "",
     "ex_train_check", "those of the starting parameters"),
    (S02, "ex_train", 'losses.append(cache["loss"])', 'losses.append(forward(x, c, params)["loss"])',
     "ex_train_check", "after its update"),
    (S02, "ex_train", "\n    return losses", "\n        return losses", "ex_train_check", "you returned inside the loop"),
    (S02, "ex_backward_output", "sum(dL_do[m] * W2[j][m] for m in range(n_out))", "dL_do[c] * W2[j][c]",
     "ex_train_check", "exercise 2 (`backward_output`) is wrong"),
    (S02, "ex_backward_hidden", "dL_dh[j] * h[j] * (1 - h[j])", "dL_dh[j] * sigmoid_grad(h[j])", "ex_train_check",
     "exercise 3 (`backward_hidden`) is wrong"),
    (S02, "ex_sgd_step", "-= lr * grads[name][i][j]", "-= grads[name][i][j]", "ex_train_check",
     "exercise 4 (`sgd_step`) is wrong"),
    # set 03
    (S03, "ex_output_grad", "return dL_dO / B", "return dL_dO", "ex_output_grad_check", "times the gradient"),
    (S03, "ex_output_grad", "dL_dO[np.arange(B), c] -= 1", "dL_dO[:, c] -= 1", "ex_output_grad_check",
     "changes whole columns"),
    (S03, "ex_output_grad", "return dL_dO / B", "return -dL_dO / B", "ex_output_grad_check", "not (T - Y) / B"),
    (S03, "ex_output_grad", "dL_dO = Y.copy()", "dL_dO = Y", "ex_output_grad_check", "names the same array"),
    (S03, "ex_backward", '"W2": H.T @ dL_dO', '"W2": dL_dO.T @ H', "ex_backward_check", "is its transpose"),
    (S03, "ex_backward", '"b2": dL_dO.sum(axis=0)', '"b2": dL_dO.sum(axis=1)', "ex_backward_check",
     "each example's outputs (axis=1)"),
    (S03, "ex_backward", '"b2": dL_dO.sum(axis=0)', '"b2": dL_dO.mean(axis=0)', "ex_backward_check",
     "do not average again"),
    (S03, "ex_backward", "dL_dK = dL_dH * H * (1 - H)", "dL_dK = dL_dH", "ex_backward_check",
     "left out the sigmoid's derivative"),
    (S03, "ex_output_grad", "return dL_dO / B", "return dL_dO", "ex_backward_check",
     "exercise 1 (`output_grad`) is wrong"),
    (S03, "ex_output_grad", "return dL_dO / B", "return -dL_dO / B", "ex_backward_check",
     "exercise 1 (`output_grad`) is wrong"),
    (S03, "ex_sgd_epoch", "order = rng.permutation(len(X))", "order = np.arange(len(X))", "ex_sgd_epoch_check",
     "in their stored order"),
    (S03, "ex_sgd_epoch", "            params[name] -= lr * grads[name]",
     "            p = params[name]\n            p = p - lr * grads[name]", "ex_sgd_epoch_check", "rebinds the name p"),
    (S03, "ex_sgd_epoch",
     'losses.append(cross_entropy(cache["Y"], c[batch]))\n        grads = backward(params, cache, c[batch])\n'
     "        for name in params:\n            params[name] -= lr * grads[name]",
     "grads = backward(params, cache, c[batch])\n        for name in params:\n"
     "            params[name] -= lr * grads[name]\n"
     '        losses.append(cross_entropy(forward(params, X[batch])["Y"], c[batch]))', "ex_sgd_epoch_check",
     "loss after its update"),
    (S03, "ex_output_grad", "dL_dO[np.arange(B), c] -= 1", "dL_dO[c, np.arange(B)] -= 1", "ex_output_grad_check",
     "swaps the axes"),
    (S03, "ex_output_grad", "dL_dO = Y.copy()\n    dL_dO[np.arange(B), c] -= 1", "dL_dO = Y - np.eye(B)[c]",
     "ex_output_grad_check", "the one-hot T has one column per class"),
    (S03, "ex_output_grad", "return dL_dO / B", "return dL_dO / Y.shape[1]", "ex_output_grad_check",
     "you divided by the number of classes"),
    (S03, "ex_output_grad", "    dL_dO[np.arange(B), c] -= 1\n", "", "ex_output_grad_check",
     "you left out the one-hot"),
    (S03, "ex_output_grad", "dL_dO[np.arange(B), c] -= 1", "dL_dO[np.arange(B), c] = -1", "ex_output_grad_check",
     "replaces the entry"),
    (S03, "ex_output_grad", "dL_dO[np.arange(B), c] -= 1", "dL_dO[np.arange(B), c - 1] -= 1", "ex_output_grad_check",
     "breaks this property: an entry is negative exactly at its row's true class"),
    (S03, "ex_backward", 'dL_dO @ params["W2"].T', 'dL_dO @ params["W2"]', "ex_backward_check",
     "you multiplied by W2 itself"),
    (S03, "ex_backward", '"W2": H.T @ dL_dO', '"W2": H @ dL_dO', "ex_backward_check", "not H.T"),
    (S03, "ex_backward", '"W1": X.T @ dL_dK', '"W1": X @ dL_dK', "ex_backward_check", "not X.T"),
    (S03, "ex_backward", "dL_dK = dL_dH * H * (1 - H)", 'dL_dK = dL_dH * cache["K"] * (1 - cache["K"])',
     "ex_backward_check", "you wrote K * (1 - K)"),
    (S03, "ex_backward", '"b1": dL_dK.sum(axis=0)', '"b1": dL_dK.sum(axis=1)', "ex_backward_check",
     "each example's hidden units"),
    (S03, "ex_sgd_epoch",
     "order = rng.permutation(len(X))\n    losses = []\n    for start in range(0, len(X), batch_size):\n"
     "        batch = order[start:start + batch_size]",
     "losses = []\n    for start in range(0, len(X), batch_size):\n"
     "        batch = rng.permutation(len(X))[start:start + batch_size]", "ex_sgd_epoch_check",
     "a new order for each batch"),
    (S03, "ex_sgd_epoch", "params[name] -= lr * grads[name]", "params[name] += lr * grads[name]",
     "ex_sgd_epoch_check", "you stepped up the gradient"),
    # set 04
    (S04, "ex_linear_backward", "self.weight.grad += self.x.T @ dL_dy", "self.weight.grad = self.x.T @ dL_dy",
     "ex_linear_backward_check", "use self.weight.grad += ..."),
    (S04, "ex_linear_backward", "self.bias.grad += dL_dy.sum(axis=0)", "self.bias.grad = dL_dy.sum(axis=0)",
     "ex_linear_backward_check", "use self.bias.grad += ..."),
    (S04, "ex_linear_backward", "self.bias.grad += dL_dy.sum(axis=0)", "self.bias.grad += dL_dy",
     "ex_linear_backward_check", "dL_dy.sum(axis=0)"),
    (S04, "ex_linear_backward", "self.bias.grad += dL_dy.sum(axis=0)", "self.bias.grad += dL_dy.mean(axis=0)",
     "ex_linear_backward_check", "not the mean"),
    (S04, "ex_linear_backward", "self.x.T @ dL_dy", "dL_dy.T @ self.x", "ex_linear_backward_check",
     "not its transpose"),
    (S04, "ex_linear_backward", "return dL_dy @ self.weight.value.T", "return dL_dy @ self.weight.value",
     "ex_linear_backward_check", "dL/dx = dL_dy @ W.T"),
    (S04, "ex_tanh_backward", "dL_dy * (1 - self.y ** 2)", "1 - self.y ** 2", "ex_tanh_backward_check",
     "multiply by the incoming dL_dy"),
    (S04, "ex_tanh_backward", "dL_dy * (1 - self.y ** 2)", "dL_dy * (1 - self.y) ** 2",
     "ex_tanh_backward_check", "not (1 - y)**2"),
    (S04, "ex_tanh_backward", "dL_dy * (1 - self.y ** 2)", "dL_dy * self.y * (1 - self.y)",
     "ex_tanh_backward_check", "the sigmoid's"),
    (S04, "ex_momentum", "self.momentum * self.velocity[i] + p.grad",
     "self.momentum * self.velocity[i] + (1 - self.momentum) * p.grad", "ex_momentum_check",
     "no (1 - momentum) factor"),
    (S04, "ex_momentum", "p.value -= self.lr * self.velocity[i]", "p.value -= self.lr * p.grad",
     "ex_momentum_check", "must use the velocity"),
    (S04, "ex_momentum", "self.velocity[i] = p.grad.copy()", "self.velocity[i] = p.grad",
     "ex_momentum_check", "must be a copy"),
    (S04, "ex_xavier", "rng.uniform(-a, a, size=(n_in, n_out))", "rng.normal(0, a / np.sqrt(3), size=(n_in, n_out))",
     "ex_xavier_check", "not a normal one"),
    (S04, "ex_xavier", "rng.uniform(-a, a, size=(n_in, n_out))", "np.random.uniform(-a, a, size=(n_in, n_out))",
     "ex_xavier_check", "draw from the rng you are given"),
    (S04, "ex_xavier", "a = np.sqrt(6 / (n_in + n_out))", "a = np.sqrt(6 / n_in)", "ex_xavier_check",
     "keeps only the fan-in"),
    (S04, "ex_xavier", "a = np.sqrt(6 / (n_in + n_out))", "a = np.sqrt(6 / n_out)", "ex_xavier_check",
     "keeps only the fan-out"),
    (S04, "ex_xavier", "a = np.sqrt(6 / (n_in + n_out))", "a = 6 / (n_in + n_out)", "ex_xavier_check",
     "you left out the square root"),
    (S04, "ex_xavier", "rng.uniform(-a, a, size=(n_in, n_out))", "rng.uniform(0, a, size=(n_in, n_out))",
     "ex_xavier_check", "you drew from [0, a]"),
    (S04, "ex_xavier", "size=(n_in, n_out)", "size=(n_out, n_in)", "ex_xavier_check", "in torch's layout"),
    (S04, "ex_linear_backward", "self.bias.grad += dL_dy.sum(axis=0)", "self.bias.grad += dL_dy.sum(axis=1)",
     "ex_linear_backward_check", "dL_dy.sum(axis=1) sums each example's outputs"),
    (S04, "ex_linear_backward", "return dL_dy @ self.weight.value.T", "return self.x.T @ dL_dy",
     "ex_linear_backward_check", "you returned dL/dW"),
    (S04, "ex_linear_backward", "return dL_dy @ self.weight.value.T", "return dL_dy @ self.weight.grad.T",
     "ex_linear_backward_check", "not by their gradient self.weight.grad"),
    (S04, "ex_linear_backward", "return dL_dy @ self.weight.value.T", "dL_dx = dL_dy @ self.weight.value.T",
     "ex_linear_backward_check", "did you forget `return`?"),
    (S04, "ex_tanh_backward", "dL_dy * (1 - self.y ** 2)", "dL_dy @ (1 - self.y ** 2)", "ex_tanh_backward_check",
     "not the matrix product @"),
    (S04, "ex_tanh_backward", "dL_dy * (1 - self.y ** 2)", "dL_dy * (1 - np.tanh(self.y) ** 2)",
     "ex_tanh_backward_check", "self.y is already tanh(x)"),
    (S04, "ex_momentum", "p.value -= self.lr * self.velocity[i]", "p.value += self.lr * self.velocity[i]",
     "ex_momentum_check", "you stepped up the gradient"),
    # set 05
    (S05, "ex_unbroadcast", "    while G.ndim > len(shape):\n        G = G.sum(axis=0)\n", "", "ex_unbroadcast_check",
     "first sum over the leading axes"),
    (S05, "ex_unbroadcast", "G.sum(axis=axis, keepdims=True)", "G.sum(axis=axis)", "ex_unbroadcast_check",
     "keep the axes where shape has a 1"),
    (S05, "ex_unbroadcast", "G = G.sum(axis=axis, keepdims=True)", "pass", "ex_unbroadcast_check",
     "also sum over each axis where shape has a 1"),
    (S05, "ex_unbroadcast", "G = G.sum(axis=0)", "G = G.mean(axis=0)", "ex_unbroadcast_check", "do not average them"),
    (S05, "ex_mul", "unbroadcast(out.grad * a.data, b.shape)", "out.grad * a.data", "ex_mul_check",
     "back to its shape with unbroadcast"),
    (S05, "ex_mul", "unbroadcast(out.grad * b.data, a.shape)", "unbroadcast(out.grad * a.data, a.shape)",
     "ex_mul_check", "is the other factor"),
    (S05, "ex_mul", "b.grad += unbroadcast", "b.grad = unbroadcast", "ex_mul_check", "x * x uses x twice"),
    (S05, "ex_mul", "a.grad += unbroadcast", "a.grad = unbroadcast", "ex_mul_check",
     "a.grad already held a gradient from another use"),
    (S05, "ex_unbroadcast", "G = G.sum(axis=0)", "G = G.mean(axis=0)", "ex_mul_check", "exercise 1 (`unbroadcast`) is wrong"),
    (S05, "ex_matmul", "a.grad += out.grad @ b.data.T\n        b.grad += a.data.T @ out.grad",
     "a.grad += a.data.T @ out.grad\n        b.grad += out.grad @ b.data.T", "ex_matmul_check",
     "dL/da = out.grad @ b.T"),
    (S05, "ex_matmul", "b.grad += a.data.T @ out.grad", "b.grad = a.data.T @ out.grad", "ex_matmul_check",
     "b.grad already held a gradient"),
    (S05, "ex_tanh", "1 - out.data ** 2", "1 - x.data ** 2", "ex_tanh_check", "not 1 - x**2"),
    (S05, "ex_tanh", "out.grad * (1 - out.data ** 2)", "(1 - out.data ** 2)", "ex_tanh_check", "multiply by out.grad"),
    (S05, "ex_tanh", "x.grad += out.grad", "x.grad = out.grad", "ex_tanh_check", "do not replace it"),
    (S05, "ex_sum", "np.expand_dims(out.grad, axis)", "out.grad", "ex_sum_check", "np.expand_dims(out.grad, axis)"),
    (S05, "ex_sum", "x.grad += G", "x.grad = G", "ex_sum_check", "replaced x's gradient"),
    (S05, "ex_topological_order", "        if node in visited:\n            return\n", "", "ex_topological_order_check",
     "listed more than once"),
    (S05, "ex_topological_order", "        for parent in node.parents:\n            visit(parent)\n        order.append(node)",
     "        order.append(node)\n        for parent in node.parents:\n            visit(parent)",
     "ex_topological_order_check", "you appended each tensor before visiting its parents"),
    (S05, "ex_backward", "reversed(topological_order(root))", "topological_order(root)", "ex_backward_check",
     "walk the order reversed"),
    (S05, "ex_backward", "    root.grad = np.ones_like(root.data)\n", "", "ex_backward_check", "dL/dL = 1"),
    (S05, "ex_topological_order", "        if node in visited:\n            return\n", "", "ex_backward_check",
     "exercise 6 (`topological_order`) is wrong"),
    (S05, "ex_mul", "unbroadcast(out.grad * b.data, a.shape)", "unbroadcast(out.grad * a.data, a.shape)",
     "ex_backward_check", "exercise 2 (`mul`) is wrong"),
    (S05, "ex_tanh", "1 - out.data ** 2", "1 - x.data ** 2", "ex_backward_check", "exercise 4 (`tanh`) is wrong"),
    (S05, "ex_sum", "x.grad += G", "x.grad = G", "ex_backward_check", "exercise 5 (`reduce_sum`) is wrong"),
    (S05, "ex_unbroadcast", "G = G.sum(axis=0)", "G = G.sum(axis=-1)", "ex_unbroadcast_check",
     "you summed over the last ones"),
    (S05, "ex_mul", "unbroadcast(out.grad * b.data, a.shape)", "unbroadcast(b.data, a.shape)", "ex_mul_check",
     "you left out out.grad"),
    (S05, "ex_matmul", "a.grad += out.grad @ b.data.T", "a.grad += out.grad @ b.data", "ex_matmul_check",
     "a transpose is missing or misplaced"),
    (S05, "ex_matmul", "a.grad += out.grad", "a.grad = out.grad", "ex_matmul_check", "a.grad already held a gradient"),
    (S05, "ex_tanh", "(1 - out.data ** 2)", "(1 - out.data) ** 2", "ex_tanh_check", "not (1 - y)**2"),
    (S05, "ex_tanh", "(1 - out.data ** 2)", "out.data * (1 - out.data)", "ex_tanh_check",
     "the derivative of the sigmoid"),
    (S05, "ex_sum", "if axis is None or keepdims else", "if axis is None else", "ex_sum_check",
     "an axis that keepdims=True had kept"),
    (S05, "ex_topological_order", "    return order\n", "    return order[::-1]\n", "ex_topological_order_check",
     "the root came first"),
    (S05, "ex_backward", "node._backward()", "node.backward()", "ex_backward_check", "you called node.backward()"),
    # set 06
    (S06, "ex_dropout", "self.mask = self.draw_keep(x.shape) / (1 - self.p)", "self.mask = self.draw_keep(x.shape)",
     "ex_dropout_check", "left the kept ones as they were"),
    (S06, "ex_dropout", "return dL_dy * self.mask", "return dL_dy * self.draw_keep(dL_dy.shape) / (1 - self.p)",
     "ex_dropout_check", "backward drew a new mask"),
    (S06, "ex_dropout", "self.mask = self.draw_keep(x.shape) / (1 - self.p)\n        return x * self.mask",
     "self.mask = self.draw_keep(x.shape)\n        return x * self.mask / (1 - self.p)", "ex_dropout_check",
     "backward must scale like forward"),
    (S06, "ex_dropout", "        if not self.training:\n            self.mask = None\n            return x\n", "",
     "ex_dropout_check", "you dropped units after layer.eval()"),
    (S06, "ex_weight_decay", "lr * (p.grad + weight_decay * p.value)", "lr * p.grad + weight_decay * p.value",
     "ex_weight_decay_check", "multiply the decay by lr too"),
    (S06, "ex_weight_decay", "weight_decay * p.value", "2 * weight_decay * p.value", "ex_weight_decay_check",
     "not 2 * weight_decay * w"),
    (S06, "ex_weight_decay", "p.grad + weight_decay", "p.grad - weight_decay", "ex_weight_decay_check",
     "do not subtract it"),
    (S06, "ex_weight_decay", "weight_decay * p.value", "(p.value.ndim == 2) * weight_decay * p.value",
     "ex_weight_decay_check", "the biases included"),
    (S06, "ex_to_torch", "torch.from_numpy(layer.weight.value.T)", "torch.from_numpy(layer.weight.value)",
     "ex_to_torch_check", "copy our weight.value.T (copy_ of (in, out)"),
    (S06, "ex_to_torch", ", dtype=torch.float64)", ")", "ex_to_torch_check",
     "torch.nn.Linear(..., dtype=torch.float64)"),
    (S06, "ex_to_torch", "            with torch.no_grad():\n"
     "                t_layer.weight.copy_(torch.from_numpy(layer.weight.value.T))\n                t_layer.bias.copy_(",
     "            t_layer.weight.copy_(torch.from_numpy(layer.weight.value.T))\n            t_layer.bias.copy_(",
     "ex_to_torch_check", "inside `with torch.no_grad():`"),
    (S06, "ex_dropout", "self.mask = self.draw_keep(x.shape) / (1 - self.p)",
     "self.mask = ~self.draw_keep(x.shape) / (1 - self.p)", "ex_dropout_check", "you kept the units draw_keep drops"),
    (S06, "ex_dropout", "return dL_dy * self.mask", "return dL_dy", "ex_dropout_check", "backward returned dL_dy unchanged"),
    (S06, "ex_dropout", "/ (1 - self.p)", "/ self.p", "ex_dropout_check", "you scaled the kept units by 1 / p"),
    (S06, "ex_weight_decay", "p.value -= lr", "p.value += lr", "ex_weight_decay_check", "you stepped up the gradient"),
    # set 07
    (S07, "ex_ema", "m_hat.append(m / (1 - beta ** t))", "m_hat.append(m)", "ex_ema_check",
     "divide by 1 - beta**t (bias correction)"),
    (S07, "ex_ema", "enumerate(values, start=1)", "enumerate(values)", "ex_ema_check", "t counts from 1"),
    (S07, "ex_ema", "m = beta * m + (1 - beta) * value", "m = (1 - beta) * m + beta * value", "ex_ema_check",
     "beta is the weight of the past"),
    (S07, "ex_adam", "m_hat = self.m[i] / (1 - beta1 ** self.t)\n            v_hat = self.v[i] / (1 - beta2 ** self.t)",
     "m_hat = self.m[i]\n            v_hat = self.v[i]", "ex_adam_check", "divide by the bias corrections"),
    (S07, "ex_adam", ADAM_STEP, ADAM_STEP_WITHOUT_COUNT + "\n        self.t += 1", "ex_adam_check",
     "add 1 to self.t BEFORE the bias correction"),
    (S07, "ex_adam", "p.value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)",
     "p.value -= self.lr * m_hat / (np.sqrt(v_hat + self.eps))", "ex_adam_check", "eps goes outside the square root"),
    (S07, "ex_adam", "(1 - beta2) * p.grad ** 2", "(1 - beta2) * p.grad", "ex_adam_check", "SQUARED gradient"),
    (S07, "ex_adam", ADAM_STEP, ADAM_STEP_WITHOUT_COUNT.replace("self.params):\n", "self.params):\n            self.t += 1\n"),
     "ex_adam_check", "once per step"),
    (S07, "ex_adam", "m_hat = self.m[i] / (1 - beta1 ** self.t)", "m_hat = self.m[i]", "ex_valley_check", "exercise 2 (`MyAdam`) is wrong"),
    (S07, "ex_ema", "m = np.zeros_like(values[0], dtype=np.float64)", "m = np.array(values[0], dtype=np.float64)",
     "ex_ema_check", "start from m_0 = 0"),
    (S07, "ex_ema", "        m_hat.append(m / (1 - beta ** t))", "        m = m / (1 - beta ** t)\n        m_hat.append(m)",
     "ex_ema_check", "you stored the corrected value back into m"),
    (S07, "ex_adam", "p.value -= self.lr", "p.value += self.lr", "ex_adam_check", "you stepped up the gradient"),
    (S07, "ex_adam", "p.value -= self.lr * m_hat", "p.value -= m_hat", "ex_adam_check", "you left out the learning rate"),
    (S07, "ex_adam", "beta1, beta2 = self.betas", "beta2, beta1 = self.betas", "ex_adam_check", "you swapped the betas"),
    (S07, "ex_valley", "path = [w.value.copy()]", "path = []", "ex_valley_check", "you kept only the rows after each step"),
    (S07, "ex_valley", "    optimizer = MyAdam([w], lr=lr)\n    path = [w.value.copy()]\n    for _ in range(steps):\n",
     "    path = [w.value.copy()]\n    for _ in range(steps):\n        optimizer = MyAdam([w], lr=lr)\n", "ex_valley_check",
     "you created the optimizer inside the loop"),
    (S07, "ex_valley", "        optimizer.zero_grad()\n", "", "ex_valley_check", "zero the gradient (optimizer.zero_grad())"),
    (S07, "ex_valley", "path.append(w.value.copy())", "path.append(w.value)", "ex_valley_check",
     "the optimizer changes w.value in place"),
    # set 08
    (S08, "ex_mean_pool", "E[s].mean(axis=0)", "E[s].sum(axis=0)", "ex_mean_pool_check", "you summed"),
    (S08, "ex_mean_pool", "np.stack([E[s].mean(axis=0) for s in seqs])",
     "np.stack([E[s].sum(axis=0) for s in seqs]) / max(len(s) for s in seqs)", "ex_mean_pool_check",
     "its own length"),
    (S08, "ex_mean_pool", "np.stack([E[s].mean(axis=0) for s in seqs])", "np.array([E[s] for s in seqs]).mean(axis=1)",
     "ex_mean_pool_check", "pool each review on its own"),
    (S08, "ex_mean_pool_grad", "np.add.at(dL_dE, s, g / len(s))", "dL_dE[s] += g / len(s)",
     "ex_mean_pool_grad_check", "np.add.at"),
    (S08, "ex_mean_pool_grad", "np.add.at(dL_dE, s, g / len(s))", "np.add.at(dL_dE, s, g)",
     "ex_mean_pool_grad_check", "divide each review's gradient by its length"),
    (S08, "ex_nearest", "cos = E @ E[w] / (np.linalg.norm(E, axis=1) * np.linalg.norm(E[w]))", "cos = E @ E[w]",
     "ex_nearest_check", "dot product"),
    (S08, "ex_nearest", "np.argsort(-cos)[:k]", "np.argsort(cos)[:k]", "ex_nearest_check", "LEAST similar"),
    (S08, "ex_mean_pool", "return np.stack([E[s].mean(axis=0) for s in seqs])",
     "L = max(len(s) for s in seqs)\n    return np.stack([E[s + [0] * (L - len(s))].mean(axis=0) for s in seqs])",
     "ex_mean_pool_check", "the padding took part in the mean"),
    (S08, "ex_mean_pool", "E[s].mean(axis=0)", "E[sorted(set(s))].mean(axis=0)", "ex_mean_pool_check",
     "you counted each distinct word once"),
    (S08, "ex_mean_pool", "E[s].mean(axis=0)", "E[s].mean(axis=1)", "ex_mean_pool_check",
     "you averaged each word's d numbers (axis=1)"),
    (S08, "ex_mean_pool", "E[s].mean(axis=0)", "E[s].mean()", "ex_mean_pool_check",
     "you averaged all of a review's numbers into one"),
    (S08, "ex_mean_pool_grad", "np.add.at(dL_dE, s, g / len(s))", "dL_dE[s] = g / len(s)",
     "ex_mean_pool_grad_check", "you assigned (=) each review's share"),
    (S08, "ex_mean_pool_grad", "    return dL_dE", "    return dL_dP / np.array([len(s) for s in seqs])[:, None]",
     "ex_mean_pool_grad_check", "you returned one row per review"),
    (S08, "ex_mean_pool_grad", "g / len(s)", "g / len(seqs)", "ex_mean_pool_grad_check",
     "breaks this property: the rows add up to the sum of dL_dP's rows"),
    (S08, "ex_nearest", "np.argsort(-cos)[:k]", "np.argsort(-cos)[1:k + 1]", "ex_nearest_check",
     "you left out the word itself"),
    (S08, "ex_nearest", "cos = E @ E[w] / (np.linalg.norm(E, axis=1) * np.linalg.norm(E[w]))",
     "cos = -np.linalg.norm(E - E[w], axis=1)", "ex_nearest_check", "you ranked by the distance |u - v|"),
    (S08, "ex_nearest", "np.linalg.norm(E, axis=1)", "np.linalg.norm(E, axis=0)", "ex_nearest_check",
     "a word's length is its row's"),
    (S08, "ex_nearest", "np.argsort(-cos)[:k]", "np.argsort(-cos)[:k][::-1]", "ex_nearest_check",
     "breaks this property: the ids come by decreasing cosine"),
    # set 09
    (S09, "ex_rnn_step_backward", 'dL_dW_hh = cache["h_prev"].T', 'dL_dW_hh = cache["h"].T',
     "ex_rnn_step_backward_check", "you used h_t = cache['h']"),
    (S09, "ex_rnn_step_backward", '(1 - cache["h"] ** 2)', '(1 - np.tanh(cache["h"]) ** 2)',
     "ex_rnn_step_backward_check", "as if h were the pre-activation"),
    (S09, "ex_rnn_step_backward", '(1 - cache["h"] ** 2)', '(1 - cache["a"] ** 2)', "ex_rnn_step_backward_check",
     "not 1 - a**2"),
    (S09, "ex_rnn_step_backward", 'dL_dh * (1 - cache["h"] ** 2)', '(1 - cache["h"] ** 2)',
     "ex_rnn_step_backward_check", "multiply tanh' by the incoming dL_dh"),
    (S09, "ex_rnn_step_backward", 'dL_dh * (1 - cache["h"] ** 2)', "dL_dh", "ex_rnn_step_backward_check",
     "you left out tanh'"),
    (S09, "ex_rnn_step_backward", 'dL_da @ cache["W_hh"].T', 'dL_da @ cache["W_hh"]', "ex_rnn_step_backward_check",
     "runs without an error but uses the transpose"),
    (S09, "ex_rnn_step_backward", 'dL_da @ cache["W_ih"].T', 'dL_da @ cache["W_ih"]', "ex_rnn_step_backward_check",
     "dL/dx = dL/da @ W_ih.T"),
    (S09, "ex_rnn_step_backward", "dL_da.sum(axis=0)", "dL_da.mean(axis=0)", "ex_rnn_step_backward_check",
     "SUM of dL/da over the batch"),
    (S09, "ex_rnn_backward", "dL_dh = dL_dh_all[:, t] + dL_dh_next", "dL_dh = dL_dh_all[:, t]",
     "ex_rnn_backward_check", "(the W_hh.T path)"),
    (S09, "ex_rnn_backward", "dL_dW_ih += dW_ih", "dL_dW_ih = dW_ih", "ex_rnn_backward_check",
     "add up the steps' shares"),
    (S09, "ex_rnn_backward", "dL_dW_hh += dW_hh", "dL_dW_hh = dW_hh", "ex_rnn_backward_check",
     "add up the steps' shares"),
    (S09, "ex_rnn_backward", "dL_dh_all[:, t]", "dL_dh_all[t]", "ex_rnn_backward_check",
     "step t is dL_dh_all[:, t] (B, H)"),
    (S09, "ex_rnn_backward", "dL_dx[:, t], dL_dh_next", "dL_dx[t], dL_dh_next", "ex_rnn_backward_check",
     "its dL/dx_t goes to dL_dx[:, t]"),
    (S09, "ex_rnn_backward", "reversed(range(T))", "range(T)", "ex_rnn_backward_check", "walk backwards"),
    (S09, "ex_rnn_step_backward", 'dL_da = dL_dh * (1 - cache["h"] ** 2)', "dL_da = dL_dh", "ex_rnn_backward_check",
     "exercise 1 (`rnn_step_backward`) is wrong"),
    (S09, "ex_rnn_step_backward", '(1 - cache["h"] ** 2)', '(1 - cache["h_prev"] ** 2)', "ex_rnn_step_backward_check",
     "not 1 - h_prev**2"),
    (S09, "ex_rnn_step_backward", 'dL_dW_ih = cache["x"].T @ dL_da', 'dL_dW_ih = dL_da.T @ cache["x"]',
     "ex_rnn_step_backward_check", "dL/da.T @ x is its transpose"),
    (S09, "ex_rnn_step_backward", "dL_da.sum(axis=0)", "dL_da.sum(axis=1)", "ex_rnn_step_backward_check",
     "you summed over the units (axis=1)"),
    (S09, "ex_rnn_backward", "dL_dh = dL_dh_all[:, t] + dL_dh_next", "dL_dh = dL_dh_all[:, t] * (t == T - 1) + dL_dh_next",
     "ex_rnn_backward_check", "you used only the last step's"),
    (S09, "ex_embedding_backward", "np.zeros((V, dL_de.shape[-1]))", "np.zeros((V, dL_de.shape[1]))",
     "ex_embedding_backward_check", "d is the last axis of dL_de"),
    (S09, "ex_embedding_backward", "np.add.at(dL_dW, ids, dL_de)", "np.add.at(dL_dW, ids, dL_de / ids.size)",
     "ex_embedding_backward_check", "breaks this property: the rows add up to the sum of all the dL_de vectors"),
    (S09, "ex_max_pool_backward", "np.where(real[:, :, None], h, -np.inf).argmax(axis=1)  # (B, H)\n"
     "    won = np.arange(T)[None, :, None] == t_max[:, None, :]  # (B, T, H)",
     "h.argmax(axis=1)  # (B, H)\n    won = (np.arange(T)[None, :, None] == t_max[:, None, :]) * real[:, :, None]",
     "ex_max_pool_backward_check", "you dropped the padded steps AFTER the argmax"),
    (S09, "ex_embedding_backward", "np.add.at(dL_dW, ids, dL_de)", "dL_dW[ids] += dL_de",
     "ex_embedding_backward_check", "use np.add.at(dL_dW, ids, dL_de)"),
    (S09, "ex_embedding_backward", "np.add.at(dL_dW, ids, dL_de)", "dL_dW[ids] = dL_de",
     "ex_embedding_backward_check", "one gradient per occurrence"),
    (S09, "ex_max_pool_backward", "np.where(real[:, :, None], h, -np.inf).argmax(axis=1)", "h.argmax(axis=1)",
     "ex_max_pool_backward_check", "padded steps got a gradient"),
    (S09, "ex_max_pool_backward", "won * dL_dm", "real[:, :, None] * dL_dm", "ex_max_pool_backward_check",
     "the backward of a sum over time"),
    (S09, "ex_max_pool_backward", "np.arange(T)[None, :] < lengths[:, None]",
     "np.arange(T)[:, None] < lengths[None, :]", "ex_max_pool_backward_check", "the mask of real steps is (B, T)"),
    (S09, "ex_lstm_step_backward", "dL_dc_prev = dL_dc * f", "dL_dc_prev = dL_dc", "ex_lstm_step_backward_check",
     "you left out * f"),
    (S09, "ex_lstm_step_backward", "dL_dg * (1 - g ** 2)", "dL_dg * g * (1 - g)", "ex_lstm_step_backward_check",
     "tanh' = 1 - g**2, not g * (1 - g)"),
    (S09, "ex_lstm_step_backward",
     "i * (1 - i), dL_df * f * (1 - f), dL_dg * (1 - g ** 2),\n                            dL_do * o * (1 - o)",
     "(1 - i ** 2), dL_df * (1 - f ** 2), dL_dg * (1 - g ** 2),\n                            dL_do * (1 - o ** 2)",
     "ex_lstm_step_backward_check", "not 1 - s**2"),
    (S09, "ex_lstm_step_backward", "dL_dg * (1 - g ** 2),\n                            dL_do * o * (1 - o)",
     "dL_do * o * (1 - o),\n                            dL_dg * (1 - g ** 2)", "ex_lstm_step_backward_check",
     "you stacked dL/dz as i, f, o, g"),
    (S09, "ex_lstm_step_backward", "dL_dh * o * (1 - tanh_c ** 2)", "dL_dh * o", "ex_lstm_step_backward_check",
     "tanh'(c) = 1 - tanh(c)**2"),
    (S09, "ex_lstm_step_backward", "dL_dc = dL_dc + dL_dh", "dL_dc = dL_dh", "ex_lstm_step_backward_check",
     "you left out dL_dc, the gradient from the next step"),
    (S09, "ex_lstm_step_backward", "dL_dc = dL_dc + dL_dh * o * (1 - tanh_c ** 2)", "dL_dc = dL_dc",
     "ex_lstm_step_backward_check", "you left out the path through h_t"),
    (S09, "ex_rnn_step_backward", 'dL_dW_hh = cache["h_prev"].T', 'dL_dW_hh = cache["h"].T', "ex_rnn_backward_check",
     "exercise 1 (`rnn_step_backward`) is wrong"),
    # set 10
    (S10, "ex_elman_step", "x_t @ W_ih.T", "x_t @ W_ih", "ex_elman_step_check", "multiply x_t @ W_ih.T"),
    (S10, "ex_elman_step", "h_prev @ W_hh.T", "h_prev @ W_hh", "ex_elman_step_check", "runs without an error"),
    (S10, "ex_elman_step", "torch.tanh(", "torch.sigmoid(", "ex_elman_step_check", "not the sigmoid"),
    (S10, "ex_elman_step", " + b_hh)", ")", "ex_elman_step_check", "you left out a bias"),
    (S10, "ex_elman_step", "torch.tanh(", "torch.relu(", "ex_elman_step_check", "not the ReLU"),
    (S10, "ex_elman_step", "torch.tanh(", "(", "ex_elman_step_check", "you left out the tanh"),
    (S10, "ex_elman_step", "torch.tanh(", "torch.relu(", "ex_elman_forward_check", "exercise 1 (`elman_step`) is wrong"),
    (S10, "ex_elman_forward", "torch.stack(states, dim=1)", "torch.stack(states, dim=0)", "ex_elman_forward_check",
     "you stacked the states along dim=0"),
    (S10, "ex_elman_forward", "states = []", "states = [h]", "ex_elman_forward_check",
     "you put the start state in h_all too"),
    (S10, "ex_elman_forward", "x[:, t]", "x[t]", "ex_elman_forward_check", "step t reads x[:, t] (B, n), not x[t]"),
    (S10, "ex_elman_forward", "        h = elman_step(x[:, t], h, W_ih, W_hh, b_ih, b_hh)\n        states.append(h)",
     "        states.append(elman_step(x[:, t], h, W_ih, W_hh, b_ih, b_hh))", "ex_elman_forward_check",
     "every step started from h0"),
    (S10, "ex_elman_forward", "        h = elman_step(x[:, t], h, W_ih, W_hh, b_ih, b_hh)\n        states.append(h)",
     "        states.append(h)\n        h = elman_step(x[:, t], h, W_ih, W_hh, b_ih, b_hh)", "ex_elman_forward_check",
     "you stored the state before each step"),
    (S10, "ex_elman_forward", "return h_all, h", "return h_all, h_all[-1]", "ex_elman_forward_check",
     "h_all[-1] is the last sequence's states"),
    (S10, "ex_elman_forward", "states.append(h)", "states.append(h.detach())", "ex_elman_forward_check",
     "no gradient reached W_ih"),
    (S10, "ex_max_pool", 'h.masked_fill(~mask[:, :, None], float("-inf")).amax(dim=1)',
     "(h * mask[:, :, None]).amax(dim=1)", "ex_max_pool_check", "you multiplied h by the mask"),
    (S10, "ex_max_pool", 'h.masked_fill(~mask[:, :, None], float("-inf")).amax(dim=1)', "h.amax(dim=1)",
     "ex_max_pool_check", "the padding took part in the max"),
    (S10, "ex_max_pool", ".amax(dim=1)", ".amax(dim=2)", "ex_max_pool_check", "you pooled over the units"),
    (S10, "ex_max_pool", 'h.masked_fill(~mask[:, :, None], float("-inf")).amax(dim=1)',
     "h.masked_fill(~mask[:, :, None], 0.0).sum(dim=1)", "ex_max_pool_check", "you summed over time"),
    (S10, "ex_max_pool", 'pooled = h.masked_fill(~mask[:, :, None], float("-inf")).amax(dim=1)',
     'pooled = h.masked_fill(~mask[:, :, None], 0.0).sum(dim=1) / mask.sum(dim=1, keepdim=True)', "ex_max_pool_check",
     "you averaged over time"),
    (S10, "ex_max_pool", 'pooled = h.masked_fill(~mask[:, :, None], float("-inf")).amax(dim=1)\n    return pooled.masked_fill(',
     'return h.masked_fill(~mask[:, :, None], float("-inf")).max(dim=1)\n    pooled.masked_fill(', "ex_max_pool_check",
     "returns a pair (values, indices)"),
    (S10, "ex_max_pool", 'h.masked_fill(~mask[:, :, None], float("-inf")).amax', 'h.masked_fill(mask[:, :, None], float("-inf")).amax',
     "ex_max_pool_check", "you filled the REAL positions with -inf"),
    (S10, "ex_token_batches", "max(lengths[i], 1) > max_tokens", "max(lengths[i], 1) >= max_tokens",
     "ex_token_batches_check", "(>, not >=)"),
    (S10, "ex_token_batches", "(len(current) + 1) * max", "len(current) * max", "ex_token_batches_check",
     "you left the newcomer out of the cost"),
    (S10, "ex_token_batches", "    if current:\n        batches.append(current)\n", "", "ex_token_batches_check",
     "you left out the last batch"),
    (S10, "ex_token_batches", "order = sorted(range(len(lengths)), key=lambda i: lengths[i])",
     "order = range(len(lengths))", "ex_token_batches_check", "you kept the given order"),
]


@pytest.mark.parametrize("name", SETS)
def test_the_solution_passes_every_visible_check(name):
    run_set(name)


@pytest.mark.parametrize("name, cell, old, new, check, hint", MISTAKES,
                         ids=[f"{m[0][:2]}-{m[4]}-{m[3][:40]}" for m in MISTAKES])
def test_a_usual_mistake_fails_a_visible_check_with_its_hint(name, cell, old, new, check, hint):
    with pytest.raises(CheckFailed) as failed:
        run_set(name, (cell, old, new), until=check)
    message = str(failed.value)
    assert hint in message, f"the hint {hint!r} is missing from:\n{message}"
    assert message.startswith(f"[{check.removesuffix('_check')}") or "[" in message.splitlines()[0]


@pytest.mark.parametrize("name, cell, old, new, check, hint", MISTAKES,
                         ids=[f"{m[0][:2]}-{m[4]}-{m[3][:40]}" for m in MISTAKES])
def test_each_hint_comes_from_the_diagnosis(name, cell, old, new, check, hint, monkeypatch):
    """Switched off, the diagnosis names no mistake: the check still fails, without the hint."""
    monkeypatch.setattr(checks, "DIAGNOSE", False)
    with pytest.raises(Exception) as failed:
        run_set(name, (cell, old, new), until=check)
    assert hint not in str(failed.value)


NAMED_CAUSES = [m for m in MISTAKES if re.match(r"exercise \d+ \(`\w+`\) is", m[5])]


@pytest.mark.parametrize("name, cell, old, new, check, hint", NAMED_CAUSES,
                         ids=[f"{m[0][:2]}-{m[4]}-{m[3][:40]}" for m in NAMED_CAUSES])
def test_a_wrong_earlier_exercise_is_all_a_check_names(name, cell, old, new, check, hint):
    """A check whose code calls a wrong earlier exercise names that exercise and gives no hint
    about its own, which may well be right."""
    with pytest.raises(CheckFailed) as failed:
        run_set(name, (cell, old, new), until=check)
    lead, *rest = str(failed.value).splitlines()
    assert hint in lead and "fix it first" in lead and not any("hint:" in line for line in rest), str(failed.value)
