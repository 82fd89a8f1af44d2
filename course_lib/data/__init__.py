"""Data sets of the course: toy sets made on the fly, real sets found on disk or downloaded."""
from .batching import batch_by_tokens, batch_fixed, padding_fraction
from .disk import load_disk
from .download import DataError
from .imdb import load_imdb
from .mnist import load_mnist
from .synth import load_synth

__all__ = ["load_synth", "load_disk", "load_mnist", "load_imdb", "batch_by_tokens", "batch_fixed",
           "padding_fraction", "DataError"]
