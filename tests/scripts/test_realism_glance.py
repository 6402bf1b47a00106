"""scripts/realism_glance.py and its pure helpers scripts/_glance.py: scorer, sheet, JPEG, features, grouped CV."""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import _glance as G  # noqa: E402


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RG = _load("realism_glance")
SHARED = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int] = (480, 384), sigma: float = 20.0) -> np.ndarray:
    """A random smooth image in [0, 1] (blurred noise), a stand-in for a normalised crop."""
    import cv2

    f = cv2.GaussianBlur(rng.normal(size=shape).astype(np.float32), (0, 0), sigma)
    f -= f.min()
    return f / max(float(f.max()), 1e-9)


class TestScoreCalls:
    """Tests for score_calls() and parse_tiles()."""

    KEY = ["sim", "real", "sim", "real"]

    def test_perfect_calls(self) -> None:
        """Both simulated tiles called, no real one: 2 hits, 0 false alarms, p = 1/16 (all four coin flips right)."""
        s = G.score_calls(self.KEY, [1, 3])
        assert (s.hits, s.misses, s.false_alarms, s.correct_rejections) == (2, 0, 0, 2)
        assert s.accuracy == 1.0
        assert s.p_binomial == pytest.approx(1 / 16)

    def test_half_right(self) -> None:
        """One hit and one false alarm: 2 of 4 right, p = P(X >= 2 | n 4, 0.5) = 11/16."""
        s = G.score_calls(self.KEY, [1, 2])
        assert (s.hits, s.false_alarms) == (1, 1)
        assert s.accuracy == 0.5
        assert s.p_binomial == pytest.approx(11 / 16)

    def test_no_call_counts_every_tile_as_real(self) -> None:
        s = G.score_calls(self.KEY, [])
        assert (s.hits, s.misses, s.false_alarms, s.correct_rejections) == (0, 2, 0, 2)

    def test_eight_and_eight_perfect(self) -> None:
        """16 tiles all right: binomial p = 2^-16; Fisher exact p = 1 / C(16, 8) (calling exactly the 8)."""
        kinds = G.shuffled_kinds(8, 8, seed=3)
        called = [i for i, k in enumerate(kinds, 1) if k == "sim"]
        s = G.score_calls(kinds, called)
        assert s.p_binomial == pytest.approx(2.0**-16)
        assert s.p_fisher == pytest.approx(1 / math.comb(16, 8))

    def test_all_wrong_has_p_one(self) -> None:
        kinds = G.shuffled_kinds(8, 8, seed=3)
        s = G.score_calls(kinds, [i for i, k in enumerate(kinds, 1) if k == "real"])
        assert s.accuracy == 0.0
        assert s.p_binomial == pytest.approx(1.0)

    def test_reported_p_is_valid_for_a_guesser_who_calls_as_many_tiles_as_are_simulated(self) -> None:
        """The sheet says it holds 8 simulated tiles, so a guesser calls 8. Over all C(16, 8) equally likely call
        sets the reported p (``p_value``) is at most 0.05 in at most 5 % of them; the binomial p is not (6.6 %:
        its coin-flip model is too small a p for this strategy, e.g. 12 right gives 0.038 where the exact chance
        is 0.066)."""
        from itertools import combinations

        kinds = G.shuffled_kinds(8, 8, seed=3)
        scores = [G.score_calls(kinds, list(c)) for c in combinations(range(1, 17), 8)]
        assert len(scores) == math.comb(16, 8)
        assert np.mean([s.p_value <= 0.05 for s in scores]) <= 0.05
        assert np.mean([s.p_binomial <= 0.05 for s in scores]) > 0.05
        twelve = next(s for s in scores if s.hits == 6)
        assert twelve.p_value == pytest.approx(849 / 12870)  # P(hits >= 6): (C(8,6)^2 + C(8,7)^2 + 1) / C(16,8)

    def test_out_of_range_raises(self) -> None:
        with pytest.raises(ValueError, match="must be 1 to 4; got \\[5\\]"):
            G.score_calls(self.KEY, [1, 5])

    def test_duplicate_raises(self) -> None:
        with pytest.raises(ValueError, match="given twice"):
            G.score_calls(self.KEY, [1, 1])

    def test_parse_tiles(self) -> None:
        assert G.parse_tiles("3, 7,11") == [3, 7, 11]
        assert G.parse_tiles("") == []

    def test_parse_tiles_bad_raises(self) -> None:
        with pytest.raises(ValueError, match="'x'"):
            G.parse_tiles("3,x")


class TestSheet:
    """Tests for shuffled_kinds() and sheet_image()."""

    def test_shuffle_counts_and_seed(self) -> None:
        a = G.shuffled_kinds(8, 8, seed=1)
        assert a.count("sim") == 8 and a.count("real") == 8
        assert a == G.shuffled_kinds(8, 8, seed=1)
        assert any(G.shuffled_kinds(8, 8, seed=s) != a for s in range(2, 6))

    def test_sheet_size_and_tiles(self) -> None:
        """Tiles land in a 4-column grid, pixel for pixel."""
        tiles = [np.full((200, 160), 10 * i, np.uint8) for i in range(16)]
        sheet = np.asarray(G.sheet_image(tiles, cols=4))
        assert sheet.shape == (6 + 4 * (200 + G.LABEL_H + 6), 6 + 4 * (160 + 6))
        assert (sheet[6:206, 6:166] == 0).all()
        x, y = 6 + 166 * 1, 6 + (200 + G.LABEL_H + 6) * 2  # tile 10 (row 2, column 1)
        assert (sheet[y : y + 200, x : x + 160] == 90).all()

    def test_mixed_tile_shapes_raise(self) -> None:
        with pytest.raises(ValueError, match="Every tile must be"):
            G.sheet_image([np.zeros((200, 160), np.uint8), np.zeros((100, 160), np.uint8)])


class TestJpeg:
    """Tests for ijg_quality() and jpeg_round_trip()."""

    @pytest.mark.parametrize("quality", [30, 50, 75, 90])
    def test_quality_read_back_from_pillow_file(self, quality: int) -> None:
        """A file Pillow (libjpeg) writes at quality q has the luminance table of q."""
        buf = io.BytesIO()
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(buf, format="JPEG", quality=quality)
        table = Image.open(io.BytesIO(buf.getvalue())).quantization[0]
        assert G.ijg_quality(table) == quality

    def test_round_trip_keeps_shape_and_is_close(self) -> None:
        img = G.to_uint8(_smooth_field(np.random.default_rng(0), (100, 80)))
        out = G.jpeg_round_trip(img, 75)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert 0 < np.abs(out.astype(int) - img).mean() < 3

    def test_round_trip_rejects_float(self) -> None:
        with pytest.raises(ValueError, match="2-D uint8"):
            G.jpeg_round_trip(np.zeros((8, 8)), 75)


class TestFeaturesAndAblations:
    """Tests for the glance features and the ablation transforms."""

    def test_feature_shapes(self) -> None:
        f = G.glance_features(_smooth_field(np.random.default_rng(1)))
        assert f["pixels"].shape == (G.THUMB_SIZE[0] * G.THUMB_SIZE[1],)
        assert f["spectrum"].shape == (G.SPECTRUM_BINS,)
        assert f["histogram"].sum() == pytest.approx(1.0)
        assert f["hog"].ndim == 1 and f["hog"].size > 100

    def test_spectrum_peaks_at_a_grating_frequency(self) -> None:
        """A grating of 0.2 cycles per pixel puts its power in the ring holding 0.2."""
        yy, xx = np.mgrid[0:200, 0:160]
        img = 0.5 + 0.4 * np.sin(2 * np.pi * 0.2 * xx)
        spec = G.radial_spectrum(img)
        edges = np.geomspace(1 / 200, 0.5, G.SPECTRUM_BINS + 1)
        ring = int(np.searchsorted(edges, 0.2) - 1)
        assert int(np.argmax(spec)) == ring

    def test_equalised_is_uniform_and_keeps_order(self) -> None:
        img = _smooth_field(np.random.default_rng(2), (60, 48))
        eq = G.equalised(img)
        assert np.histogram(eq, bins=10, range=(0, 1))[0].std() <= 1.0
        assert (np.argsort(eq.ravel(), kind="stable") == np.argsort(img.ravel(), kind="stable")).all()

    def test_jittered_moves_a_spot_within_bounds(self) -> None:
        """A bright spot at the centre moves by at most 8 % of the size plus the scale's share, and by something."""
        img = np.zeros((200, 160), np.float32)
        img[95:105, 75:85] = 1.0
        moved = [G.jittered(img, np.random.default_rng(s)) for s in range(6)]
        for m in moved:
            ys, xs = np.nonzero(m > 0.5)
            assert abs(ys.mean() - 99.5) <= 0.08 * 200 + 2 and abs(xs.mean() - 79.5) <= 0.08 * 160 + 2
        assert any(not np.array_equal(m, img) for m in moved)

    def test_high_pass_ignores_layout_and_blur_removes_texture(self) -> None:
        rng = np.random.default_rng(3)
        layout = _smooth_field(rng, sigma=40)
        grain = 0.05 * rng.normal(size=layout.shape).astype(np.float32)
        hp_a = G.high_passed(np.clip(layout + grain, 0, 1), 6.0)
        hp_b = G.high_passed(np.clip(0.5 + grain, 0, 1), 6.0)
        assert np.corrcoef(hp_a.ravel(), hp_b.ravel())[0, 1] > 0.9
        assert G.blurred(layout + grain, 12.0).std() < (layout + grain).std()
        assert np.abs(G.blurred(layout + grain, 12.0) - G.blurred(layout, 12.0)).max() < 0.01


class TestGroupedCV:
    """Tests for grouped_folds() and discriminate()."""

    def test_no_patient_in_train_and_test(self) -> None:
        """Patients with 1-4 films each: every patient's films fall in one test fold, never also in its training."""
        rng = np.random.default_rng(4)
        groups = np.repeat(np.arange(60), rng.integers(1, 5, size=60))
        y = (groups % 2).astype(int)
        seen = np.zeros(len(y), int)
        for tr, te in G.grouped_folds(y, groups, n_splits=5, seed=0):
            assert not set(groups[tr]) & set(groups[te])
            seen[te] += 1
        assert (seen == 1).all()

    @staticmethod
    def _features(images: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        feats = [G.glance_features(im) for im in images]
        X = np.stack([np.concatenate([f[g] for g in G.FEATURE_GROUPS]) for f in feats])
        return X, [feats[0][g].size for g in G.FEATURE_GROUPS]

    def test_same_distribution_gives_about_half(self) -> None:
        """Two sets drawn from one distribution: balanced accuracy and AUC near 0.5, the interval holding 0.5."""
        rng = np.random.default_rng(5)
        X, blocks = self._features([_smooth_field(rng) for _ in range(80)])
        y = np.repeat([0, 1], 40)
        r = G.discriminate(X, y, np.arange(80), repeats=2, n_boot=300, block_sizes=blocks)
        assert abs(r.balanced_accuracy - 0.5) < 0.15
        assert abs(r.auc - 0.5) < 0.15
        assert r.accuracy_ci95[0] <= 0.5 <= r.accuracy_ci95[1]

    def test_clearly_different_sets_give_about_one(self) -> None:
        """Smooth fields against the same fields with film grain: told apart every time."""
        rng = np.random.default_rng(6)
        smooth = [_smooth_field(rng) for _ in range(80)]
        grainy = [np.clip(im + 0.08 * rng.normal(size=im.shape), 0, 1).astype(np.float32) for im in smooth[40:]]
        X, blocks = self._features(smooth[:40] + grainy)
        r = G.discriminate(X, np.repeat([0, 1], 40), np.arange(80), repeats=2, n_boot=300, block_sizes=blocks)
        assert r.balanced_accuracy > 0.95
        assert r.auc > 0.98

    def test_learning_curve_separates_and_does_not_on_noise(self) -> None:
        """Clearly different sets: 5 films of each kind already suffice; one distribution: about 0.5 at any size."""
        rng = np.random.default_rng(10)
        smooth = [_smooth_field(rng) for _ in range(60)]
        grainy = [np.clip(im + 0.08 * rng.normal(size=im.shape), 0, 1).astype(np.float32) for im in smooth[30:]]
        X, blocks = self._features(smooth[:30] + grainy)
        y, g = np.repeat([0, 1], 30), np.arange(60)
        curve = G.learning_curve(X, y, g, sizes=(5, 20, 30), draws=5, block_sizes=blocks)
        assert set(curve) == {5, 20}  # 30 of each would leave nothing to test on
        assert curve[5]["balanced_accuracy"] > 0.8
        null = G.learning_curve(X[:30], np.repeat([0, 1], 15), g[:30], sizes=(10,), draws=10, block_sizes=blocks)
        assert abs(null[10]["balanced_accuracy"] - 0.5) < 0.15

    def test_one_class_raises(self) -> None:
        with pytest.raises(ValueError, match="both classes"):
            G.discriminate(np.zeros((4, 2)), np.zeros(4), np.arange(4))

    def test_auc_matches_pairwise_definition(self) -> None:
        rng = np.random.default_rng(7)
        y = rng.integers(0, 2, 50)
        s = np.round(rng.normal(size=50), 1)  # ties on purpose
        pairs = [(a > b) + 0.5 * (a == b) for a in s[y == 1] for b in s[y == 0]]
        assert G.roc_auc(y, s) == pytest.approx(np.mean(pairs))


class TestScript:
    """scripts/realism_glance.py around sim_realism.py's crop rule (imported from the working tree)."""

    def test_complete_crop_inside_and_beyond_the_film(self) -> None:
        """Corners well inside an 800 x 1000 film give a full normalised crop; the same spine at the film's top edge
        (its crop box reaching above the film) gives None."""
        sr = RG.load_sim_realism(SCRIPTS / "sim_realism.py")
        film = _smooth_field(np.random.default_rng(8), (1000, 800)) * 4095

        def spine(top: float) -> dict[str, np.ndarray]:
            out = {}
            for k in range(5):
                y0 = top + 90 * k
                out[f"L{k + 1}"] = np.array([[350, y0], [450, y0], [350, y0 + 60], [450, y0 + 60]], float)
            return out

        got = RG.complete_crop(sr, film, spine(250))
        assert got is not None
        crop, bodies = got
        assert crop.shape == (sr.CH, sr.CW)
        assert crop.min() >= 0 and crop.max() <= 1
        assert len(bodies) == 3
        assert RG.complete_crop(sr, film, spine(5)) is None

    def test_score_command_prints_the_counts(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        kinds = G.shuffled_kinds(8, 8, seed=9)
        key = {"simulator_version": "x", "tiles": [{"tile": i, "kind": k} for i, k in enumerate(kinds, 1)]}
        (tmp_path / "key.json").write_text(json.dumps(key))
        sims = [i for i, k in enumerate(kinds, 1) if k == "sim"]
        RG.main(["score", "--key", str(tmp_path / "key.json"), "--score", ",".join(map(str, sims[:6]))])
        out = capsys.readouterr().out
        assert "hits (simulated called simulated): 6 of 8" in out
        assert "false alarms (real called simulated): 0 of 8" in out
        assert "accuracy: 0.875" in out
        first_p = next(line for line in out.splitlines() if " p " in f" {line}")
        assert "Fisher" in first_p  # the p to report comes first: exact for any guess that ignores the tiles

    def test_score_command_bad_tile_exits(self, tmp_path: Path) -> None:
        key = {"simulator_version": "x", "tiles": [{"tile": 1, "kind": "sim"}, {"tile": 2, "kind": "real"}]}
        (tmp_path / "key.json").write_text(json.dumps(key))
        with pytest.raises(SystemExit, match="must be 1 to 2"):
            RG.main(["score", "--key", str(tmp_path / "key.json"), "--score", "3"])

    def test_sheet_refuses_key_beside_the_sheet(self, tmp_path: Path) -> None:
        """The key may not go into the sheet's folder, where the person taking the test would see it."""
        with pytest.raises(SystemExit, match="must not be in the sheet's folder"):
            RG.main(["sheet", "--sheet", str(tmp_path / "s.png"), "--key", str(tmp_path / "k.json")])
        assert not any(tmp_path.iterdir())

    def test_sheet_refuses_key_below_the_sheets_folder(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Nor in a folder inside it: the person opening the sheet's folder would see the key's folder there."""

        def must_not_load(path: Path) -> None:
            raise AssertionError("the sheet went ahead with its key inside the sheet's folder")

        monkeypatch.setattr(RG, "load_sim_realism", must_not_load)
        with pytest.raises(SystemExit, match="must not be in the sheet's folder"):
            RG.main(["sheet", "--sheet", str(tmp_path / "s.png"), "--key", str(tmp_path / "answers" / "k.json")])
        assert not any(tmp_path.iterdir())

    def test_sheet_leaves_out_the_contact_sheets_films(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """docs/realism/contact_sheet_ap.png shows sim_realism's first real films and simulated seeds 500, ... under
        the labels "real" and "simulated"; a person who has seen it would recognise them on a blind sheet. The sheet
        draws neither: its simulated tiles come from later seeds, its real ones from the other films."""
        rng = np.random.default_rng(12)
        n_real, seen = 20, 12  # 12: the films of each kind left out (RG.CONTACT_SHEET_SEEN)
        d = tmp_path / "shared" / "spineweb16-ap"
        d.mkdir(parents=True)
        names = [f"sunhl-1th-01-Jan-2017-{i} A AP.jpg" for i in range(n_real)]
        rows = rng.uniform(0.1, 0.9, size=(n_real, 136))
        (d / "filenames.csv").write_text("".join(f"{n}\n" for n in names))
        (d / "landmarks.csv").write_text("".join(",".join(map(str, r.tolist())) + "\n" for r in rows))
        order = list(np.random.default_rng(0).permutation(n_real))  # the fake real_set's order with rng 0

        def real_set(shared: Path, n: int, g: np.random.Generator):
            for i in g.permutation(n_real)[:n]:  # 100 x 100 px films: corners = landmark row x 100
                yield (
                    np.zeros((100, 100)),
                    {
                        f"L{k + 1}": 100.0 * np.c_[rows[i, 48 + 4 * k : 52 + 4 * k], rows[i, 116 + 4 * k : 120 + 4 * k]]
                        for k in range(5)
                    },
                )

        def sim_set(n: int, seed0: int = 500, population: str = "adolescent-scoliosis"):
            yield from ()

        fake = type("SR", (), {"SIM_VERSION": "x", "N_TILES": 6, "real_set": staticmethod(real_set)})
        fake.sim_set = staticmethod(sim_set)
        crop = np.full((60, 48), 0.5, np.float32)
        monkeypatch.setattr(RG, "load_sim_realism", lambda path: fake)
        monkeypatch.setattr(RG, "real_crops", lambda sr, shared: ([{"crop": crop, "name": n} for n in names], {}))
        monkeypatch.setattr(
            RG,
            "sim_crops",
            lambda sr, n, population, quality, cache: [{"crop": crop, "seed": RG.SIM_SEED0 + k} for k in range(n)],
        )
        key = tmp_path / "k" / "key.json"
        RG.main(
            ["sheet", "--shared", str(tmp_path / "shared"), "--sheet", str(tmp_path / "s" / "sheet.png")]
            + ["--key", str(key), "--n", "8", "--pool", "8", "--seed", "1", "--cache", str(tmp_path / "c")]
        )
        tiles = json.loads(key.read_text())["tiles"]
        shown_real = {names[i] for i in order[:seen]}
        assert len(tiles) == 16
        assert all(t["seed"] >= RG.SIM_SEED0 + seen for t in tiles if t["kind"] == "sim")
        assert not {t["file"] for t in tiles if t["kind"] == "real"} & shown_real

    @pytest.mark.slow
    def test_discriminator_report_on_one_distribution(self) -> None:
        """The whole report on synthetic crops of one distribution labelled real and simulated at random: every
        view and group present, the combined classifier near 0.5, the learning curve skipping sizes it cannot test."""
        sr = RG.load_sim_realism(SCRIPTS / "sim_realism.py")
        rng = np.random.default_rng(11)
        quad = np.array([[75.0, 60.0], [115.0, 60.0], [115.0, 85.0], [75.0, 85.0]])  # on 240 x 192 crops

        def item(i: int, kind: str) -> dict:
            crop = _smooth_field(rng, (240, 192), sigma=10.0)
            return {"crop": crop, "bodies": [quad, quad + [0, 35], quad + [0, 70]], "group": f"{kind}-{i}"}

        real = [item(i, "real") for i in range(24)]
        sim = [item(i, "sim") for i in range(24)]
        out = RG.discriminator_report(sr, real, sim, repeats=1, seed=0)
        assert set(out) == set(RG.VARIANTS)
        assert all(set(G.FEATURE_GROUPS) | {"all"} <= set(v) for v in out.values())
        assert abs(out["as_is"]["all"]["balanced_accuracy"] - 0.5) < 0.2
        assert set(out["as_is"]["learning_curve_all"]) == {"2", "5", "10", "20"}
        spread = out["as_is"]["layout_spread_crop_px"]
        assert spread["real"]["L3"]["centre_y_sd"] == spread["sim"]["L3"]["centre_y_sd"] == 0.0

    @pytest.mark.slow
    @pytest.mark.shared_data
    def test_real_crops_one_per_patient(self) -> None:
        """The real SpineWeb crops: over 100 complete ones, one per patient number, all 8-bit JPEG quality 75."""
        if not (SHARED / "spineweb16-ap" / "filenames.csv").is_file():
            pytest.skip(f"needs the SpineWeb AP films in {SHARED} (FUSIONWATCH_SHARED_DATA)")
        sr = RG.load_sim_realism(SCRIPTS / "sim_realism.py")
        items, summary = RG.real_crops(sr, SHARED)
        groups = [it["group"] for it in items]
        assert len(items) > 100
        assert len(set(groups)) == len(groups) == summary["patients"]
        assert summary["jpeg_quality_of_real_films"] == {"75": len(items)}
        assert all(it["crop"].shape == (sr.CH, sr.CW) for it in items)
