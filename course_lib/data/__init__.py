"""Data sets of the course: toy sets made on the fly, real sets found on disk or downloaded."""
from .disk import load_disk
from .download import DataError
from .mnist import load_mnist
from .synth import load_synth

__all__ = ["load_synth", "load_disk", "load_mnist", "DataError"]
