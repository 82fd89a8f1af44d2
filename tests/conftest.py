# Notebooks under tests/ are fixtures for the builder and grader, not lessons for nbval.
collect_ignore_glob = ["hostile/*", "fixtures/*", "**/*.ipynb"]
