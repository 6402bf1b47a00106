"""Tests for view detection from DICOM attribute values (fusionwatch.io._view)."""

from __future__ import annotations

import pytest

from fusionwatch.io._view import ViewHints, decide_view
from fusionwatch.radiograph import View


class TestDecideView:
    """decide_view() on attribute values, without files."""

    @pytest.mark.parametrize("position", ["LLD", "RLD", "LLO", "RAO", ""])
    def test_unmapped_positions(self, position: str) -> None:
        """Decubitus, oblique and empty View Position say nothing about the projection."""
        assert decide_view(ViewHints(view_position=position), None) == (None, [])

    def test_oblique_code_meaning_ignored(self) -> None:
        """'left lateral oblique' is not a lateral film."""
        assert decide_view(ViewHints(view_code_meanings=("Left lateral oblique",)), None)[0] is None

    def test_posture_from_view_modifier(self) -> None:
        """A View Modifier meaning 'flexion' on a lateral film makes it a flexion film."""
        hints = ViewHints(view_position="LL", view_code_meanings=("lateral", "flexion"))
        assert decide_view(hints, None)[0] is View.FLEXION

    def test_posture_alone_implies_lateral(self) -> None:
        """'EXTENSION' with no projection attribute is an extension (lateral) film."""
        assert decide_view(ViewHints(descriptions=("LSPINE EXTENSION",)), None)[0] is View.EXTENSION

    def test_words_inside_other_words_ignored(self) -> None:
        """'EXTERNAL' and 'LATERALITY' do not count as EXT or LAT."""
        view, warnings = decide_view(ViewHints(descriptions=("EXTERNAL REVIEW", "LATERALITY R")), None)
        assert view is None and not warnings

    def test_ambiguous_description(self) -> None:
        """'AP/LAT' in one description names both projections: no guess."""
        assert decide_view(ViewHints(descriptions=("L-SPINE AP/LAT",)), None) == (None, [])

    def test_override_without_hints(self) -> None:
        """The user's view is used as is when DICOM says nothing; no warning."""
        assert decide_view(None, View.AP) == (View.AP, [])

    def test_override_type_checked(self) -> None:
        """A string instead of a View is a programming error."""
        with pytest.raises(TypeError, match="must be a View"):
            decide_view(None, "lateral")  # type: ignore[arg-type]
