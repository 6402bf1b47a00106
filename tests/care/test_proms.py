"""Tests for care/proms.py: hand-computed ODI scores, bands, NRS validation, MCID and SCB flags."""

import datetime as dt

import pytest

from fusionwatch.care.proms import (
    PromRecord,
    check_nrs,
    compare_proms,
    odi_band,
    parse_odi,
    score_odi,
)
from fusionwatch.errors import InputError

D0 = dt.date(2026, 1, 1)
D1 = dt.date(2026, 7, 1)


class TestScoreOdi:
    def test_all_answered(self) -> None:
        """3+2+4+1+2+3+2+1+3+2 = 23 of 50 -> 46 %."""
        s = score_odi([3, 2, 4, 1, 2, 3, 2, 1, 3, 2])
        assert s.score == pytest.approx(46.0)
        assert s.answered == 10
        assert s.band == "severe"

    def test_one_missing_prorated(self) -> None:
        """Sex life blank: 15 of 45 -> 33.33 %, not 15 of 50 = 30 %."""
        s = score_odi(parse_odi("2,1,3,2,2,1,1,-,2,1"))
        assert s.score == pytest.approx(100 * 15 / 45)
        assert s.answered == 9

    def test_two_missing_prorated(self) -> None:
        """Two blank: 8 answers summing 20 -> 20 / 40 = 50 %."""
        s = score_odi([5, 5, 5, 5, None, None, 0, 0, 0, 0])
        assert s.score == pytest.approx(50.0)

    def test_three_missing_raises(self) -> None:
        with pytest.raises(InputError, match="3 blank sections; at most 2"):
            score_odi([1, 1, 1, 1, 1, 1, 1, None, None, None])

    def test_extremes(self) -> None:
        assert score_odi([0] * 10).score == 0.0
        assert score_odi([5] * 10).score == 100.0

    @pytest.mark.parametrize("bad", [6, -1, 2.5, True, "3"])
    def test_out_of_range_answer_raises(self, bad: object) -> None:
        with pytest.raises(InputError, match="ODI section 4 \\(walking\\)"):
            score_odi([0, 0, 0, bad, 0, 0, 0, 0, 0, 0])

    def test_wrong_count_raises(self) -> None:
        with pytest.raises(InputError, match="10 answers"):
            score_odi([1] * 9)


class TestParseOdi:
    def test_parses_blanks(self) -> None:
        assert parse_odi("0, 1,2,3,4,5,-,,1,2") == (0, 1, 2, 3, 4, 5, None, None, 1, 2)

    def test_wrong_count_raises(self) -> None:
        with pytest.raises(InputError, match="exactly 10 answers.*got 3"):
            parse_odi("1,2,3")

    @pytest.mark.parametrize("bad", ["x", "6", "-1", "2.5"])
    def test_bad_token_raises(self, bad: str) -> None:
        with pytest.raises(InputError, match="section 1"):
            parse_odi(f"{bad},0,0,0,0,0,0,0,0,0")


class TestBands:
    @pytest.mark.parametrize(
        ("score", "band"),
        [(0, "minimal"), (20, "minimal"), (20.1, "moderate"), (40, "moderate"), (41, "severe"), (60, "severe"),
         (61, "crippled"), (80, "crippled"), (81, "bed-bound"), (100, "bed-bound")],
    )
    def test_band_limits(self, score: float, band: str) -> None:
        assert odi_band(score) == band

    def test_out_of_range_raises(self) -> None:
        with pytest.raises(InputError, match="between 0 and 100"):
            odi_band(101)


class TestNrs:
    @pytest.mark.parametrize("v", [0, 5, 10, "7", 3.0])
    def test_valid(self, v: object) -> None:
        assert 0 <= check_nrs(v) <= 10

    @pytest.mark.parametrize("v", [-1, 11, 2.5, "high", None, True, "\u00b2", "\u2460", "3.5", "+3"])
    def test_invalid_raises(self, v: object) -> None:
        with pytest.raises(InputError, match="back pain must be a whole number from 0"):
            check_nrs(v, "back pain")


class TestCompare:
    def test_mcid_and_scb_by_points(self) -> None:
        """Pre 60 % (30/50), post 30 % (15/50): improvement 30 >= 18.8, 50 % >= 36.8 %, final 30 <= 31.3."""
        pre = PromRecord(D0, (3,) * 10, back_pain=8, leg_pain=7)
        post = PromRecord(D1, (3, 3, 3, 3, 3, 0, 0, 0, 0, 0), back_pain=5, leg_pain=6)
        c = compare_proms(pre, post)
        assert c.odi_improvement == pytest.approx(30.0)
        assert c.odi_mcid is True and c.odi_scb is True
        assert len(c.odi_scb_reasons) == 3
        assert c.back_pain_improvement == 3 and c.back_pain_mcid is True
        assert c.leg_pain_improvement == 1 and c.leg_pain_mcid is False

    def test_mcid_without_scb(self) -> None:
        """Pre 80 % (40/50) -> post 66 % (33/50): +14 >= 12.8 MCID; 14 < 18.8, 17.5 % < 36.8 %, 66 > 31.3: no SCB."""
        pre = PromRecord(D0, (4,) * 10)
        post = PromRecord(D1, (4, 4, 4, 3, 3, 3, 3, 3, 3, 3))
        c = compare_proms(pre, post)
        assert c.odi_improvement == pytest.approx(14.0)
        assert c.odi_mcid is True
        assert c.odi_scb is False and c.odi_scb_reasons == ()

    def test_scb_by_final_score_only(self) -> None:
        """Pre 46 % (23/50) -> post 30 % (15/50): +16 >= MCID 12.8, < 18.8, 34.8 % < 36.8 %, final 30 <= 31.3: SCB by
        the final score alone, and said so."""
        pre = PromRecord(D0, (3, 3, 3, 2, 2, 2, 2, 2, 2, 2))
        post = PromRecord(D1, (2, 2, 2, 2, 2, 1, 1, 1, 1, 1))
        c = compare_proms(pre, post)
        assert c.odi_mcid is True
        assert c.odi_scb is True and c.odi_scb_not_counted == ()
        assert c.odi_scb_reasons == ("final score 30.0 (<= 31.3)",)

    @pytest.mark.parametrize(("pre", "post", "reached"), [
        # Pre 10 % (5/50) -> 6 % (3/50): 4 points = 40 % (>= 36.8 %); before: 'substantial clinical benefit met'
        ((1, 1, 0, 1, 1, 0, 1, 0, 0, 0), (1, 0, 0, 1, 1, 0, 0, 0, 0, 0), "improved 40.0 % (>= 36.8 %)"),
        # Pre 36 % (18/50) -> 30 % (15/50): 6 points, final 30 <= 31.3; before: SCB met by the final score
        ((2, 2, 2, 2, 2, 2, 2, 2, 1, 1), (2, 2, 2, 2, 2, 1, 1, 1, 1, 1), "final score 30.0 (<= 31.3)"),
    ])
    def test_a_relative_criterion_under_the_mcid_is_not_a_substantial_benefit(
        self, pre: tuple, post: tuple, reached: str
    ) -> None:
        """Glassman's 36.8 % or final <= 31.3 reached by fewer points than the MCID (12.8) is not counted
        (ODI_SCB_NEEDS_MCID, PMID 18762642): the criterion and the points are said, SCB is not met."""
        c = compare_proms(PromRecord(D0, pre), PromRecord(D1, post))
        assert c.odi_mcid is False and c.odi_scb is False and c.odi_scb_reasons == ()
        (said,) = c.odi_scb_not_counted
        assert said.startswith(reached) and "points, under the MCID (12.8)" in said

    @pytest.mark.parametrize(("pre", "post", "improvement"), [
        ((0, 0, 1, 0, 0, 0, 0, None, 0, 0), (1,) * 10, -17.8),  # 2.2 % (1/45) -> 20.0 % (10/50): worse
        ((1, 1, 1, 1, 1, 1, 1, 1, 1, 2), (1,) * 10, 2.0),  # 22.0 % (11/50) -> 20.0 %: 2 points (9 %) better
    ])
    def test_final_score_needs_a_pre_op_score_above_it(self, pre: tuple, post: tuple, improvement: float) -> None:
        """A patient at or below 31.3 before surgery does not meet SCB by the final score (before: 2.2 -> 20.0 %,
        worse by 17.8 points, was told 'substantial clinical benefit met' by `prom add` and the report)."""
        c = compare_proms(PromRecord(D0, pre), PromRecord(D1, post))
        assert c.odi_improvement == pytest.approx(improvement, abs=0.05)
        assert c.odi_mcid is False and c.odi_scb is False and c.odi_scb_reasons == ()

    def test_missing_parts_give_none(self) -> None:
        c = compare_proms(PromRecord(D0, back_pain=6), PromRecord(D1, leg_pain=2))
        assert c.odi_mcid is None and c.back_pain_mcid is None and c.leg_pain_mcid is None

    def test_empty_record_raises(self) -> None:
        with pytest.raises(InputError, match="at least one"):
            PromRecord(D0)


class TestWithoutClearBenefit:
    """Tests for without_clear_benefit(): outcomes short of the change patients notice (CLINICAL.md MCID, SCB)."""

    def test_pain_about_the_same(self) -> None:
        """Back pain 7 -> 6 (1 < the 2-point MCID), leg pain 6 -> 2 (4 >= 2): only back pain is named."""
        from fusionwatch.care.proms import without_clear_benefit

        c = compare_proms(PromRecord(D0, back_pain=7, leg_pain=6), PromRecord(D1, back_pain=6, leg_pain=2))
        assert without_clear_benefit(c) == ("back pain",)

    def test_odi_below_mcid_unless_scb(self) -> None:
        """ODI +6 points without SCB is named, also when the final score is <= 31.3 (6 points are no substantial
        benefit: ODI_SCB_NEEDS_MCID); +16 to a final 30 (SCB by the final score) is not named."""
        from fusionwatch.care.proms import without_clear_benefit

        no_scb = compare_proms(PromRecord(D0, (4,) * 10), PromRecord(D1, (4, 4, 4, 4, 4, 4, 4, 3, 3, 3)))
        assert no_scb.odi_mcid is False and no_scb.odi_scb is False
        assert without_clear_benefit(no_scb) == ("daily activities",)
        six = compare_proms(PromRecord(D0, (2, 2, 2, 2, 2, 2, 2, 2, 1, 1)),
                            PromRecord(D1, (2, 2, 2, 2, 2, 1, 1, 1, 1, 1)))
        assert without_clear_benefit(six) == ("daily activities",)
        scb = compare_proms(PromRecord(D0, (3, 3, 3, 2, 2, 2, 2, 2, 2, 2)),
                            PromRecord(D1, (2, 2, 2, 2, 2, 1, 1, 1, 1, 1)))
        assert without_clear_benefit(scb) == ()

    def test_nothing_to_compare(self) -> None:
        from fusionwatch.care.proms import without_clear_benefit

        assert without_clear_benefit(compare_proms(PromRecord(D0, back_pain=6), PromRecord(D1, leg_pain=2))) == ()


class TestPromEntryLines:
    """prom_entry_lines(): what `prom add` says about a new entry, composed in care/ (R's F14, session 14: it was
    composed in cli/care.py, so a web page would have had to repeat the baseline choice, MCID/SCB and the interim
    rule)."""

    SURGERY = dt.date(2025, 6, 1)

    def _rec(self, days: int, odi: str | None = None, back: int | None = None) -> PromRecord:
        return PromRecord(self.SURGERY + dt.timedelta(days=days), parse_odi(odi) if odi else None, back, None)

    def test_pre_op_baseline_is_the_latest_on_or_before_surgery(self) -> None:
        from fusionwatch.care.proms import pre_op_baseline, prom_entry_lines

        a, b = self._rec(-22, back=7), self._rec(-12, back=6)
        assert pre_op_baseline([a, b], self.SURGERY) is b
        assert prom_entry_lines([a, b], a, self.SURGERY) == [
            "answered 22 days before surgery (2025-06-01): an earlier pre-operative answer; the baseline stays the "
            "latest one, 2025-05-20"]
        assert prom_entry_lines([a, b], b, self.SURGERY)[-1].endswith(
            "the pre-operative baseline later answers are compared with")

    def test_change_vs_pre_op_with_mcid_scb_and_the_interim_rule(self) -> None:
        from fusionwatch.care.proms import prom_entry_lines

        pre, post = self._rec(-10, "3,3,3,3,3,3,3,-,3,3", 8), self._rec(100, "1,1,1,1,1,1,1,-,1,1", 3)
        lines = prom_entry_lines([pre, post], post, self.SURGERY)
        assert lines[0] == "ODI 20.0 % (minimal; 9/10 sections answered)"
        assert lines[1].startswith("vs pre-op 2025-05-22: ODI 60.0 -> 20.0, improved by 40.0 points; MCID (12.8) met; "
                                   "substantial clinical benefit met: ")
        assert lines[1].endswith("this is day 100: an interim reading)")
        assert lines[2] == "back pain: improved by 5; MCID met"
        late = self._rec(400, "1,1,1,1,1,1,1,-,1,1")
        assert "interim" not in " ".join(prom_entry_lines([pre, late], late, self.SURGERY))
        assert prom_entry_lines([post], post, self.SURGERY) == ["ODI 20.0 % (minimal; 9/10 sections answered)"]
        assert prom_entry_lines([post], post, None) == ["ODI 20.0 % (minimal; 9/10 sections answered)"]
