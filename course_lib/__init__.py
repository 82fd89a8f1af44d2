"""backprop-course: the library the lessons build, one module per concept.

Lesson map (see README):
    data        loaders for the synthetic, disk, MNIST and IMDb data sets
    functions   softmax, cross-entropy, activations and their derivatives      (lesson 1)
    gradcheck   finite differences and comparison with torch.autograd           (lessons 1-5)
    scalar      ScalarMLP: a network written with lists and floats              (lesson 2)
    mlp         MLP: the same network, batched NumPy                            (lesson 3)
    nn          Module framework: Linear, activations, losses, SGD, init        (lessons 4-5)
    train       fit / evaluate loops with history, progress bars, NaN stop      (lessons 3-7)
    rnn         recurrent sentiment classifiers in PyTorch                      (lessons 6-7)
    plots       learning curves, decision boundaries
    widgets     ipywidgets explorers
    exercises   build student copies from nbgrader-format solutions            (instructors)
    grading     grade / check notebooks                                         (instructors)
"""

__version__ = "0.1.0"
