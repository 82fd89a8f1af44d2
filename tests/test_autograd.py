import numpy as np
import pytest
import torch

from course_lib.autograd import Tensor, no_grad, topological_order, trace
from course_lib.data import load_mnist
from course_lib.gradcheck import numerical_gradient, rel_error
from course_lib.mlp import MLP


def run(engine, f, arrays, seed=0):
    """f(*leaves) with float64 leaves in ``engine`` ("ours" or "torch"), then backward of
    sum(f * G) for a seeded random G: returns (f's value, the leaves' grads) as ndarrays."""
    if engine == "ours":
        leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    else:
        leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = f(*leaves)
    G = np.random.default_rng(seed).standard_normal(out.shape)
    (out * (G if engine == "ours" else torch.tensor(G))).sum().backward()
    value = out.data if engine == "ours" else out.detach().numpy()
    return value, [leaf.grad if engine == "ours" else leaf.grad.numpy() for leaf in leaves]


def assert_same_as_torch(f, arrays, tol=1e-12, seed=0):
    ours, our_grads = run("ours", f, arrays, seed)
    theirs, their_grads = run("torch", f, arrays, seed)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    for i, (g, h) in enumerate(zip(our_grads, their_grads)):
        assert g.shape == h.shape and g.dtype == np.float64, f"leaf {i}"
        np.testing.assert_allclose(g, h, rtol=tol, atol=tol, err_msg=f"gradient of leaf {i}")


def randn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def positive(seed, *shape):
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


# -- every op against torch.autograd (float64) -----------------------------------------------------
BROADCASTS = [((3, 4), (3, 4)), ((3, 4), ()), ((), (3, 4)), ((3, 4), (4,)), ((3, 4), (3, 1)),
              ((1, 4), (3, 1)), ((2, 3, 4), (3, 1)), ((4,), (2, 3, 4))]
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b}


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
def test_binary_ops_match_torch_with_broadcasting(op, shapes):
    assert_same_as_torch(BINARY[op], [randn(1, *shapes[0]), positive(2, *shapes[1])])


UNARY = {
    "neg": lambda x: -x, "exp": lambda x: x.exp(), "log": lambda x: x.log(),
    "relu": lambda x: x.relu(), "sigmoid": lambda x: x.sigmoid(), "tanh": lambda x: x.tanh(),
    "square": lambda x: x**2, "sqrt": lambda x: x**0.5, "pow_negative": lambda x: x**-1.5,
    "sum": lambda x: x.sum(), "sum_axis0": lambda x: x.sum(axis=0),
    "sum_axis1_keepdims": lambda x: x.sum(axis=1, keepdims=True),
    "sum_all_keepdims": lambda x: x.sum(axis=(0, 1, 2), keepdims=True),
    "sum_axes": lambda x: x.sum(axis=(0, 2)), "sum_negative_axis": lambda x: x.sum(axis=-1),
    "mean": lambda x: x.mean(), "mean_axis1": lambda x: x.mean(axis=1),
    "mean_axis0_keepdims": lambda x: x.mean(axis=0, keepdims=True),
    "T": lambda x: x.reshape(6, 4).T, "reshape_args": lambda x: x.reshape(4, 6),
    "reshape_tuple": lambda x: x.reshape((3, -1)), "index_row": lambda x: x[1],
    "slice": lambda x: x[:, 1:3], "index_rows_repeated": lambda x: x[[1, 1, 0]],
    "index_arrays_repeated": lambda x: x[[0, 1, 0, 0], [2, 2, 2, 1]],
}


@pytest.mark.parametrize("op", UNARY)
def test_unary_ops_match_torch(op):
    x = positive(3, 2, 3, 4) if op in ("log", "sqrt", "pow_negative") else randn(3, 2, 3, 4)
    assert_same_as_torch(UNARY[op], [x])


@pytest.mark.parametrize("B, n, m", [(1, 1, 1), (3, 4, 2), (5, 2, 7)])
def test_matmul_matches_torch(B, n, m):
    assert_same_as_torch(lambda a, b: a @ b, [randn(4, B, n), randn(5, n, m)])


def test_numbers_and_arrays_work_on_either_side():
    c, W = randn(6, 3, 4), randn(7, 4, 2)

    def f(x, const):  # const: how the engine takes an array (ours as it is, torch as a tensor)
        elementwise = (2 - x) * 3 + 1 + const(c) - x / 2 + 1 / (x * x + 1) + const(c) * x - const(c)
        return elementwise @ const(W) + (const(W.T) @ x.T).T.sum(axis=1, keepdims=True)

    ours, (g,) = run("ours", lambda x: f(x, lambda a: a), [randn(8, 3, 4)])
    theirs, (h,) = run("torch", lambda x: f(x, torch.tensor), [randn(8, 3, 4)])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(g, h, rtol=1e-12)


def test_grad_fn_names_are_torchs():
    for op, f in {**UNARY, **BINARY, "matmul": lambda a, b: a @ b}.items():
        if op in ("index_row", "slice"):
            continue  # torch names basic indexing Select/SliceBackward0, ours is IndexBackward0
        args = 2 if op in BINARY or op == "matmul" else 1
        x = positive(0, 4, 4) if args == 2 else positive(0, 2, 3, 4)
        ours = f(*[Tensor(x, requires_grad=True)] * args)
        theirs = f(*[torch.tensor(x, requires_grad=True)] * args)
        assert ours.grad_fn == type(theirs.grad_fn).__name__, op


# -- random expression graphs with shared sub-expressions ------------------------------------------
GRAPH_OPS = {  # name: (number of operands, function working on both engines)
    "add": (2, lambda a, b: a + b), "sub": (2, lambda a, b: a - b), "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / (b * b + 1)), "tanh": (1, lambda a: a.tanh()),
    "sigmoid": (1, lambda a: a.sigmoid()), "exp": (1, lambda a: a.tanh().exp()),
    "log": (1, lambda a: (a * a + 1).log()), "relu": (1, lambda a: a.relu()),
    "square": (1, lambda a: a**2), "scale": (1, lambda a: 0.5 * a - 1.5),
    "row_sum": (1, lambda a: a.sum(axis=0, keepdims=True)),
    "col_mean": (1, lambda a: a.mean(axis=1, keepdims=True)),
    "reshape_T": (1, lambda a: a.reshape(4, 3).T), "gather_rows": (1, lambda a: a[[2, 0, 2]]),
    "matmul": (1, None),  # a @ W, with the (4, 4) leaf W
}
FULL_ONLY = ("reshape_T", "gather_rows", "matmul")  # ops that need a (3, 4) operand


def output_shape(name, shapes):
    if name == "row_sum":
        return (1, shapes[0][1])
    if name == "col_mean":
        return (shapes[0][0], 1)
    return np.broadcast_shapes(*shapes)


def random_graph_spec(seed, n_ops=14):
    """A random DAG as instructions (op, operand indices), operands drawn with repetition from all
    earlier nodes. Nodes 0-2 are leaves of shapes (3, 4), (1, 4), (3, 1); W, the (4, 4) leaf, is
    used by matmul only."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (1, 4), (3, 1)]
    spec = []
    for _ in range(n_ops):
        name = list(GRAPH_OPS)[rng.integers(len(GRAPH_OPS))]
        allowed = [i for i, s in enumerate(shapes) if name not in FULL_ONLY or s == (3, 4)]
        operands = tuple(int(i) for i in rng.choice(allowed, GRAPH_OPS[name][0]))
        spec.append((name, operands))
        shapes.append(output_shape(name, [shapes[i] for i in operands]))
    return spec


def build(spec, leaves, W):
    """The loss of the graph ``spec`` on ``leaves`` (either engine): the last node's sum plus
    a term for every node that no later node uses."""
    nodes = list(leaves)
    for name, operands in spec:
        args = [nodes[i] for i in operands]
        nodes.append(args[0] @ W if name == "matmul" else GRAPH_OPS[name][1](*args))
    used = {i for _, operands in spec for i in operands}
    sinks = [node for i, node in enumerate(nodes) if i not in used]
    return sum(((s * (i + 1.0)).tanh().sum() for i, s in enumerate(sinks)), start=nodes[-1].sum())


@pytest.mark.parametrize("seed", range(30))
def test_random_graphs_with_shared_nodes_match_torch(seed):
    spec = random_graph_spec(seed)
    arrays = [randn(seed, 3, 4), randn(seed + 100, 1, 4), randn(seed + 200, 3, 1),
              randn(seed + 300, 4, 4) / 2]
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    L, L_torch = build(spec, ours[:3], ours[3]), build(spec, theirs[:3], theirs[3])
    L.backward()
    L_torch.backward()
    np.testing.assert_allclose(L.item(), L_torch.item(), rtol=1e-10)
    for i, (a, t) in enumerate(zip(ours, theirs)):
        expected = np.zeros(a.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10, err_msg=f"leaf {i}")


def test_random_graphs_reuse_nodes():
    for seed in range(30):
        operands = [i for _, ops in random_graph_spec(seed) for i in ops]
        assert len(operands) > len(set(operands)), f"graph {seed} uses no node twice"


# -- a tensor used more than once adds its gradients -----------------------------------------------
def test_x_times_x_gives_two_x():
    x = Tensor(randn(9, 5), requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_a_value_used_twice_gets_the_sum_of_both_gradients():
    x = Tensor(randn(10, 3), requires_grad=True)
    (x + x + x.exp()).sum().backward()
    np.testing.assert_allclose(x.grad, 2 + np.exp(x.data), rtol=1e-15)


def test_a_weight_shared_by_two_layers_matches_torch():
    assert_same_as_torch(lambda X, W: ((X @ W).tanh() @ W).sigmoid(),
                         [randn(11, 5, 3), randn(12, 3, 3)])


def test_grads_accumulate_over_backward_calls_until_reset():
    x = Tensor(randn(13, 4), requires_grad=True)
    (3 * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 + 2 * x.data, rtol=1e-15)
    x.grad = None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(4))


# -- finite differences on composite functions ---------------------------------------------------
def log_softmax(O: Tensor) -> Tensor:
    """log softmax along axis 1 from exp, log and sum; the row max is a constant shift."""
    shifted = O - O.data.max(axis=1, keepdims=True)
    return shifted - shifted.exp().sum(axis=1, keepdims=True).log()


def cross_entropy(O: Tensor, c: np.ndarray) -> Tensor:
    """mean_b -log softmax(O)[b, c_b] for logits ``O: (B, C)`` and labels ``c: (B,)``."""
    return -log_softmax(O)[np.arange(len(c)), c].mean()


COMPOSITES = {
    "cross_entropy": lambda x: cross_entropy(x, np.array([0, 3, 3, 1, 2])),
    "two_layers": lambda x: ((x @ randn(14, 4, 6)).sigmoid() @ randn(15, 6, 1)).tanh().sum(),
    "reused": lambda x: (x * x.exp() / (x**2 + 1) - x.T.reshape(-1).relu().mean()).sum(),
    "normalise": lambda x: ((x - x.mean(axis=0)) / ((x**2).mean(axis=0) + 1) ** 0.5
                            ).sigmoid().log().mean(),
}


@pytest.mark.parametrize("name", COMPOSITES)
def test_composite_functions_match_finite_differences(name):
    f = COMPOSITES[name]
    x = randn(16, 5, 4)
    t = Tensor(x.copy(), requires_grad=True)
    f(t).backward()
    numeric = numerical_gradient(lambda a: f(Tensor(a)).item(), x)
    assert rel_error(t.grad, numeric) < 1e-8


# -- the engine's MLP equals lesson 3's hand-written backward --------------------------------------
ACTIVATION_METHODS = {"sigmoid": Tensor.sigmoid, "tanh": Tensor.tanh, "relu": Tensor.relu}


@pytest.fixture(scope="module")
def mnist_batch():
    (x_train, c_train), _, C = load_mnist()
    return x_train[:32].astype(np.float64), c_train[:32], C


@pytest.mark.parametrize("activation", ACTIVATION_METHODS)
def test_mlp_gradients_equal_lesson_3s_hand_written_backward(activation, mnist_batch):
    X, c, C = mnist_batch
    net = MLP(784, 16, C, activation, seed=1, dtype=np.float64)
    for step in range(3):  # three SGD steps: both sides must stay equal as the weights move
        loss, grads = net.loss_and_grads(X, c)
        p = {name: Tensor(value.copy(), requires_grad=True) for name, value in net.params.items()}
        H = ACTIVATION_METHODS[activation](X @ p["W1"] + p["b1"])
        L = cross_entropy(H @ p["W2"] + p["b2"], c)
        L.backward()
        assert abs(L.item() - loss) < 1e-12, f"step {step}"
        for name in grads:
            np.testing.assert_allclose(p[name].grad, grads[name], rtol=1e-9, atol=1e-13,
                                       err_msg=f"{name} at step {step}")
        net.step(grads, lr=0.5)


# -- errors a student can hit ------------------------------------------------------------------
def test_backward_on_a_non_scalar_needs_a_gradient():
    y = Tensor(randn(17, 2, 3), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*\(2, 3\)"):
        y.backward()
    y.backward(np.ones((2, 3)))  # with a gradient of its shape it works


def test_backward_with_a_gradient_of_the_wrong_shape_names_both_shapes():
    y = Tensor(randn(18, 2, 3), requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))


def test_a_second_backward_through_a_freed_graph_points_at_retain_graph():
    x = Tensor(randn(19, 3), requires_grad=True)
    L = (x.tanh() * x).sum()
    L.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        L.backward()


def test_retain_graph_allows_a_second_backward():
    x = Tensor(randn(20, 3), requires_grad=True)
    L = (x.tanh() * x).sum()
    L.backward(retain_graph=True)
    first = x.grad.copy()
    L.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 4\)"):
        Tensor(randn(21, 2, 3)) @ Tensor(randn(22, 2, 4))
    with pytest.raises(ValueError, match=r"\(3,\) and \(3, 4\)"):
        Tensor(randn(21, 3)) @ randn(22, 3, 4)


def test_backward_on_a_tensor_without_grad_says_so():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor(randn(23, 3)) * 2).sum().backward()


# -- the rest of the surface: dtype, no_grad, detach, long graphs, repr, the graph ---------------
def test_dtype_follows_the_data_and_numbers_do_not_upcast_it():
    assert Tensor(1.5).dtype == np.float32 and Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.arange(3)).dtype == np.float32  # integers become float32
    x32 = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = (x32 * 0.5 + np.ones(3) - 1 / x32).mean()
    assert y.dtype == np.float32
    y.backward()
    assert x32.grad.dtype == np.float32
    a = np.zeros(3)
    assert Tensor(a).data is a and (Tensor(a) * 2).dtype == np.float64  # shared, not copied


def test_no_grad_and_detach_record_nothing():
    x = Tensor(randn(24, 3), requires_grad=True)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None and topological_order(y) == [y]
    z = (x * 2).detach()
    assert not z.requires_grad and z.grad_fn is None
    assert (x * 2).requires_grad  # recording is back on after the block


def test_an_rnn_unrolled_for_many_steps_has_no_recursion_limit():
    rng = np.random.default_rng(25)
    W = Tensor(rng.standard_normal((4, 4)) / 2, requires_grad=True)
    xs = rng.standard_normal((3000, 1, 4))
    h = Tensor(np.zeros((1, 4)))
    for x in xs:
        h = (h @ W + x).tanh()
    h.sum().backward()
    Wt = torch.tensor(W.data, requires_grad=True)
    ht = torch.zeros(1, 4, dtype=torch.float64)
    for x in xs:
        ht = (ht @ Wt + torch.tensor(x)).tanh()
    ht.sum().backward()
    np.testing.assert_allclose(W.grad, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_repr_looks_like_torchs():
    assert repr(Tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    y = Tensor(np.array([0.5, 1.5]), requires_grad=True).sum()
    assert repr(y) == "tensor(2., dtype=float64, grad_fn=<SumBackward0>)"


def test_only_leaves_and_retain_grad_tensors_keep_a_grad():
    x = Tensor(randn(26, 3), requires_grad=True)
    h = x * 3
    h.retain_grad()
    square = h * h
    square.sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data, rtol=1e-15)
    np.testing.assert_allclose(x.grad, 18 * x.data, rtol=1e-15)
    assert square.grad is None


def test_trace_lists_each_node_once_and_every_edge():
    a, b = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    c = a * b
    L = c + c.tanh()
    nodes, edges = trace(L)  # tensors compare by identity (no __eq__), as dict keys need
    t = nodes[3]
    assert nodes[-1] is L and len(nodes) == 5 and set(nodes[:2]) == {a, b}
    assert set(edges) == {(a, c), (b, c), (c, t), (c, L), (t, L)} and len(edges) == 5
    assert [n.grad_fn for n in nodes] == [None, None, "MulBackward0", "TanhBackward0",
                                          "AddBackward0"]
