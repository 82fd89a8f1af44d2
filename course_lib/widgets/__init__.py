"""ipywidgets explorers the lessons use, one module per topic, all on one contract.

Every explorer is a :class:`~course_lib.widgets.explorer.Explorer`: named controls, a picture they
redraw, ``update(**values)`` to drive it from code (a test, or a curious student) exactly as the
controls would, ``ValueError`` for a name it does not know. explorer.py holds the contract;
basics.py (lessons 1-2), mnist.py (3), disk.py (4-5), text.py (6-7) the explorers.
"""
