"""backprop-course: the library the lessons build, one module per concept.

Which lesson builds which module, and which exercise set goes with it: the map in
CONTRIBUTING.md ("Map: lesson ↔ module ↔ exercise set"), the course's one map. The symbols
(x, o, y, c, dL_do, ...) are those of its notation table.
"""

__version__ = "0.1.0"
