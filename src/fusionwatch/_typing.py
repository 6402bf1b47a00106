"""Names for recurring shapes."""

from __future__ import annotations

Point = tuple[float, float]
"""An ``(x, y)`` position: x to the right, y down, origin at the centre of the top-left pixel.

The unit (px or mm) is stated by whoever holds the point: :class:`~fusionwatch.landmarks.Landmarks` are in pixels,
measurement functions say in their docstring which they expect.
"""

__all__ = ["Point"]
