"""The one contract every explorer of the lessons follows.

An :class:`Explorer` holds named ipywidgets ``controls`` and a picture they redraw. The picture is
a matplotlib ``figure`` filled by ``draw(figure, **control_values)``, shown as a PNG, or, for a
subclass that overrides :meth:`Explorer.view`, any IPython display object (the review explorer
shows HTML).

- Without a ``button`` every change of a control redraws at once (cheap pictures); with one (a
  "Train" button) controls only take effect when it is pressed.
- ``update(**values)`` sets controls by name and redraws once, exactly as moving them (and
  pressing the button) does; an unknown name raises ``ValueError`` listing the controls.
- ``values`` is every control's current value; ``status`` is a line of HTML under the controls
  (what a retrain reports); ``widget`` is the box of controls, button and status.
- Displayed in a notebook it shows ``widget`` and then the picture, which every redraw replaces
  in place: an executed notebook keeps the last picture even where widgets do not render (a
  static viewer, a notebook opened without a kernel).
"""
from __future__ import annotations

import html
import io
from typing import Callable, TypeVar

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..train import TrainingDiverged

R = TypeVar("R")


class Explorer:
    def __init__(self, controls: dict[str, widgets.ValueWidget], draw: Callable[..., None],
                 figure: Figure | None, button: widgets.Button | None = None,
                 draw_now: bool = True) -> None:
        self.controls, self.figure, self._draw = controls, figure, draw
        self.button = button
        self.status = widgets.HTML()
        self._handle = None  # set once displayed; a redraw then replaces the shown picture
        self._setting = False
        if button is None:
            for control in controls.values():
                control.observe(self._on_change, names="value")
        else:
            button.on_click(lambda _: self.update())
        self.widget = widgets.VBox([*controls.values(),
                                    widgets.HBox([button, self.status] if button else [self.status])])
        if draw_now:
            self.update()

    @property
    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **values) -> None:
        """Set the named controls (``update(o0=3.0)``, ``update(lr=0.3)``), then redraw once."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}: choose from {sorted(self.controls)}")
        self._setting = True  # one redraw for all values, not one per value
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._setting = False
        if self.figure is not None:
            self.figure.clear()
        self._draw(self.figure, **self.values)
        if self._handle is not None:
            self._handle.update(self.view())

    def retrain(self, figure: Figure, train: Callable[[], R]) -> R | None:
        """``train()`` with the button disabled meanwhile. When the loss blows up
        (``TrainingDiverged``) it says so in ``status`` and on ``figure`` and returns None."""
        if self.button is not None:
            self.button.disabled = True
        try:
            return train()
        except TrainingDiverged as err:
            message = str(err).split(". The usual")[0]
            self.status.value = (f"<b>the loss blew up</b>: {html.escape(message)} "
                                 "(try a smaller learning rate)")
            figure.text(0.5, 0.5, f"{message}\n\nTry a smaller learning rate.", ha="center",
                        va="center", wrap=True, fontsize=12, color="C3")
            return None
        finally:
            if self.button is not None:
                self.button.disabled = False

    def _on_change(self, change) -> None:
        if not self._setting:
            self.update()

    def png(self) -> bytes:
        """The figure as it looks now, as PNG bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def view(self):
        """What is displayed below the controls: the figure as a PNG."""
        from IPython.display import Image
        return Image(self.png())

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)
        self._handle = display(self.view(), display_id=True)


def check_settings(values: dict, allowed) -> None:
    """Raise ``ValueError`` naming the settings in ``values`` that are not in ``allowed``, as
    :meth:`Explorer.update` does for controls."""
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}: choose from {', '.join(allowed)}")
