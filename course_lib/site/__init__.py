"""The course as a static website, built from the same files students use.

``python -m course_lib site DEST`` (or :func:`build_site`) writes, from the stored notebooks and the
README, without executing anything::

    index.html             the README's first screen and its lessons table (each lesson linked)
    install.html, reports.html, instructors.html, results.html, contributing.html
                           the README's other sections and CONTRIBUTING.md, one page per topic
    lessons/NN_name.html   one page per lesson: stored outputs, figures, previous/next links, a
                           link to its notebook and to its exercise set
    notebooks/, exercises/ the lesson notebooks and the student copies of the sets, to download
    search.html            the search box's results (the index is _static/search-index.js)
    _images/               every stored figure, named by its content's hash
    _static/               CSS, the page script, and MathJax 3 copied from the ``django-static-mathjax``
                           package (``pip install -e .[site]``): math renders with no network

Explorers (ipywidgets) cannot run without a kernel: their place shows the controls' stored values
and a line saying to run the lesson in JupyterLab; the picture the lesson stored follows as usual.

The build is reproducible (the same inputs give the same bytes) and checked: a link or image that
points at nothing, a README section that no page holds, or a page that would load anything from
the network fails the build, and DEST keeps its previous site. DEST must be new, empty, or a site
this command built (it refuses to replace any other folder).
"""
from .build import SiteError, build_site

__all__ = ["SiteError", "build_site"]
