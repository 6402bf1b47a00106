"""Tests for motion/pair.py: two films that cannot be one flexion-extension pair are refused."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from fusionwatch.errors import InputError, ViewError
from fusionwatch.motion import check_pair
from fusionwatch.radiograph import DicomIds, Radiograph, View

DAY = dt.date(2026, 3, 2)


def _film(view: View | None, patient_id: str | None = "MRN-1", acquired: dt.date | None = DAY,
          source: str = "film.dcm") -> Radiograph:
    return Radiograph(np.zeros((32, 32), np.float32), view=view, acquired=acquired,
                      ids=DicomIds(patient_id=patient_id), source=source)


class TestCheckPair:
    """Tests for check_pair()."""

    @pytest.mark.parametrize(("f_view", "e_view"), [(View.FLEXION, View.EXTENSION), (View.LATERAL, View.LATERAL),
                                                    (None, None), (View.LATERAL, View.EXTENSION)])
    def test_a_pair_passes(self, f_view: View | None, e_view: View | None) -> None:
        """One patient, one day, postures in order (or not stated) pass."""
        check_pair(_film(f_view), _film(e_view))

    def test_films_without_ids_or_dates_pass(self) -> None:
        """PNG films say nothing about patient or date: nothing is guessed."""
        check_pair(_film(None, None, None), _film(None, None, None))

    def test_swapped_films_raise(self) -> None:
        """Extension given first and flexion second is named as the wrong order."""
        with pytest.raises(ViewError, match="wrong order"):
            check_pair(_film(View.EXTENSION, source="e.dcm"), _film(View.FLEXION, source="f.dcm"))

    @pytest.mark.parametrize(("f_view", "e_view", "words"), [(View.EXTENSION, View.EXTENSION, "an extension film"),
                                                             (View.FLEXION, View.FLEXION, "a flexion film"),
                                                             (View.AP, View.EXTENSION, "an AP film")])
    def test_a_film_of_the_other_posture_raises(self, f_view: View, e_view: View, words: str) -> None:
        with pytest.raises(ViewError, match=words):
            check_pair(_film(f_view), _film(e_view))

    @pytest.mark.parametrize(("f_view", "e_view", "words"), [(View.EXTENSION, View.FLEXION, "wrong order"),
                                                             (View.AP, View.EXTENSION, "an AP film")])
    def test_a_reader_can_overrule_what_the_attributes_say(self, f_view: View, e_view: View, words: str) -> None:
        """The posture is often read from free text (a protocol name 'LAT FLEX' on both exposures) or a View Position
        mis-set to AP: the reader's 'as given' overrules it, and the overruled conflict is returned to be recorded."""
        overruled = check_pair(_film(f_view), _film(e_view), views_as_given=True)
        assert len(overruled) == 1 and words in overruled[0]
        assert check_pair(_film(View.FLEXION), _film(View.EXTENSION), views_as_given=True) == []

    def test_views_as_given_does_not_overrule_two_patients_or_two_days(self) -> None:
        with pytest.raises(InputError, match="two different patients"):
            check_pair(_film(View.EXTENSION, "MRN-1"), _film(View.FLEXION, "MRN-2"), views_as_given=True)
        with pytest.raises(InputError, match="one visit"):
            check_pair(_film(View.FLEXION), _film(View.EXTENSION, acquired=dt.date(2025, 12, 1)), views_as_given=True)

    def test_two_patients_raise_without_naming_the_ids(self) -> None:
        with pytest.raises(InputError, match="two different patients") as info:
            check_pair(_film(View.FLEXION, "MRN-1"), _film(View.EXTENSION, "MRN-2"))
        assert "MRN-1" not in str(info.value) and "MRN-2" not in str(info.value)

    def test_two_days_raise(self) -> None:
        with pytest.raises(InputError, match="2026-03-02.*2025-12-01"):
            check_pair(_film(View.FLEXION), _film(View.EXTENSION, acquired=dt.date(2025, 12, 1)))

    def test_one_study_across_midnight_passes(self) -> None:
        """Films of one study (same Study Instance UID) taken either side of midnight are one pair: their acquisition
        dates differ by a day, but they are one visit (the study says so)."""
        f = Radiograph(np.zeros((32, 32), np.float32), view=View.FLEXION, acquired=DAY,
                       ids=DicomIds(patient_id="MRN-1", study_uid="1.2.3.4"), source="f.dcm")
        e = Radiograph(np.zeros((32, 32), np.float32), view=View.EXTENSION, acquired=DAY + dt.timedelta(days=1),
                       ids=DicomIds(patient_id="MRN-1", study_uid="1.2.3.4"), source="e.dcm")
        check_pair(f, e)
        other = Radiograph(e.pixels, view=View.EXTENSION, acquired=e.acquired,
                           ids=DicomIds(patient_id="MRN-1", study_uid="1.2.3.5"), source="e.dcm")
        with pytest.raises(InputError, match="one visit"):
            check_pair(f, other)
