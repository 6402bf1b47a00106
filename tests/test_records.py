"""Tests for fusionwatch.records rules that every adapter uses (the CLI, ingest, later the web API)."""

from __future__ import annotations

import pytest

from fusionwatch.records import Approach, implants_for


class TestImplantsFor:
    """Tests for implants_for(): the implants an approach leaves when the operation note does not list them."""

    @pytest.mark.parametrize("approach", [Approach.TLIF, Approach.PLIF, Approach.ALIF])
    def test_interbody_fusions_leave_a_cage(self, approach: Approach) -> None:
        """TLIF, PLIF and ALIF fuse through the disc space: screws, rods and an interbody cage."""
        assert implants_for(approach) == ("pedicle_screws", "rods", "interbody_cage")

    def test_posterolateral_fusion_leaves_no_cage(self) -> None:
        """A posterolateral fusion places no interbody device: cage checks must not expect one."""
        assert implants_for(Approach.POSTEROLATERAL) == ("pedicle_screws", "rods")

    def test_every_approach_has_screws_and_rods(self) -> None:
        """No approach is left without an answer (a new Approach member must be decided here)."""
        for approach in Approach:
            assert {"pedicle_screws", "rods"} <= set(implants_for(approach))

    def test_a_string_is_refused(self) -> None:
        """A raw string ('posterolateral') is not silently read as an interbody approach."""
        with pytest.raises(TypeError, match="must be an Approach"):
            implants_for("posterolateral")  # type: ignore[arg-type]
