# Notebooks under tests/ are fixtures for the builder and grader, not lessons for nbval.
import pytest

collect_ignore_glob = ["hostile/*", "fixtures/*", "**/*.ipynb"]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The course site, built once per run with the README's command (see tests/sitekit.py)."""
    from tests.sitekit import build_as_readme_says

    dest = tmp_path_factory.mktemp("site") / "site"
    result = build_as_readme_says(dest)
    assert result.returncode == 0, f"the README's site command failed:\n{result.stderr}"
    return dest
