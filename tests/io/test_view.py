"""Tests for view detection from DICOM attribute values (fusionwatch.io._view)."""

from __future__ import annotations

import pytest

from fusionwatch.errors import InputError
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

    def test_override_given_as_text(self) -> None:
        """A view's value in any case is that view (what a web form or a manifest gives)."""
        assert decide_view(None, "Lateral") == (View.LATERAL, [])  # type: ignore[arg-type]

    @pytest.mark.parametrize("bad", ["sideways", "", 3, None.__class__])
    def test_unknown_override_is_a_user_error(self, bad: object) -> None:
        """Reviewer R's F17: read_radiograph(view='sideways') raised TypeError, which ingest logged as an unexpected
        error with a traceback; a mistyped view is the user's mistake: an InputError naming the views there are."""
        with pytest.raises(InputError, match=r"Unknown view .*expected one of 'lateral', 'ap', 'flexion', 'extension'"):
            decide_view(None, bad)  # type: ignore[arg-type]
