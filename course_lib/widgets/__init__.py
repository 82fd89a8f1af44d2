"""ipywidgets explorers the lessons use, one module per topic.

Each explorer returns its widget and exposes the function that redraws it, so a test (or a
curious student) can drive it without a browser.
"""
