"""Build the simulator's bundled anatomy (src/fusionwatch/sim/data/) from ../shared/data. Run once; output is committed.

    .venv/bin/python scripts/build_sim_data.py [--shared ../shared/data]

What it makes (lengths in mm, anatomical frame of the ArtiSynth meshes: +x anterior, +y lateral, +z superior):

- ``anatomy.npz``
  - ``lat_<bone>_total`` / ``lat_<bone>_cortical``: lateral line-integral maps (bone path along y, mm) on a 0.5 mm
    (x, z) grid, from exact ray/mesh intersections of the closed whole-bone meshes; the cortical part is a 1.2 mm shell
    (shell / |n_y| at every crossing, capped). Bones: L1..L5, S1 (sacrum), pelvis_pos / pelvis_neg (the two hip
    bones, split at y = 0 so each gets its own magnification).
  - ``lat_<bone>_origin``: (x0, z0) of pixel [0, 0] (pixel centre), mm.
  - ``vol_<bone>``: uint8 labels on a 1.5 mm grid (0 outside, 1 trabecular, 2 cortical shell) for the AP re-projection;
    ``vol_<bone>_origin``: (x0, y0, z0) mm of voxel [0, 0, 0].
  - ``soft_lat`` / ``soft_ap``: water-equivalent soft-tissue thickness (mm) from the real TotalSegmentator CT with its
    bones, metal and table removed, resampled to the mesh frame (1.5 mm grid); ``soft_lat_origin``, ``soft_ap_origin``.
- ``anatomy.json``: endplate corners (mid-sagittal section y = 0 of the ``*_body`` meshes), S1 superior corners,
  femoral head centres and radius (spheres fitted to the acetabula), bone centroids.
- ``priors.json``: mean and covariance of (PI, PT, LL) per UCI class, and observed ranges (derived numbers only).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

OUT = Path(__file__).resolve().parents[1] / "src" / "fusionwatch" / "sim" / "data"
BONES = ["L1", "L2", "L3", "L4", "L5", "S1"]
LAT_RES = 0.5
VOL_RES = 1.5
CORTEX_MM = 1.2


def read_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    vs, fs = [], []
    with open(path) as fh:
        for line in fh:
            if line.startswith("v "):
                vs.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("f "):
                fs.append([int(t.split("/")[0]) - 1 for t in line.split()[1:4]])
    return np.asarray(vs) * 1000.0, np.asarray(fs, dtype=np.int64)


def ray_hits(V: np.ndarray, F: np.ndarray, axis: int, grid0: tuple[float, float], res: float, shape: tuple[int, int]):
    """Intersections of rays along ``axis`` through a 2-D grid of the other two axes.

    Returns, per crossing: flat grid index, coordinate along the axis, |normal component along the axis|.
    """
    other = [a for a in range(3) if a != axis]
    A, B, C = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    n = np.cross(B - A, C - A)
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    idx_l, t_l, ny_l = [], [], []
    p = np.stack([A[:, other], B[:, other], C[:, other]], axis=1)  # (m, 3, 2)
    lo = np.floor((p.min(1) - np.asarray(grid0)) / res).astype(int)
    hi = np.ceil((p.max(1) - np.asarray(grid0)) / res).astype(int)
    for k in range(len(F)):
        (u0, v0), (u1, v1) = lo[k], hi[k]
        u0, v0 = max(u0, 0), max(v0, 0)
        u1, v1 = min(u1, shape[0] - 1), min(v1, shape[1] - 1)
        if u1 < u0 or v1 < v0:
            continue
        uu, vv = np.meshgrid(np.arange(u0, u1 + 1), np.arange(v0, v1 + 1), indexing="ij")
        qu = grid0[0] + uu.ravel() * res
        qv = grid0[1] + vv.ravel() * res
        (a0, a1), (b0, b1), (c0, c1) = p[k]
        det = (b1 - c1) * (a0 - c0) + (c0 - b0) * (a1 - c1)
        if abs(det) < 1e-12:
            continue
        l1 = ((b1 - c1) * (qu - c0) + (c0 - b0) * (qv - c1)) / det
        l2 = ((c1 - a1) * (qu - c0) + (a0 - c0) * (qv - c1)) / det
        l3 = 1 - l1 - l2
        inside = (l1 >= 0) & (l2 >= 0) & (l3 >= 0) & ~((l1 == 0) & (l2 == 0))
        if not inside.any():
            continue
        t = l1 * A[k, axis] + l2 * B[k, axis] + l3 * C[k, axis]
        flat = uu.ravel() * shape[1] + vv.ravel()
        idx_l.append(flat[inside])
        t_l.append(t[inside])
        ny_l.append(np.full(inside.sum(), abs(n[k, axis])))
    return np.concatenate(idx_l), np.concatenate(t_l), np.concatenate(ny_l)


def chords(idx, t, ncomp, n_cells, split_at: float | None = None):
    """Total and cortical path length per cell; with ``split_at`` two pairs (coordinate < split, >= split)."""
    order = np.lexsort((t, idx))
    idx, t, ncomp = idx[order], t[order], ncomp[order]
    out = {k: np.zeros(n_cells) for k in ("tot_neg", "tot_pos", "cort_neg", "cort_pos")}
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    cort_each = np.minimum(CORTEX_MM / np.maximum(ncomp, 1e-3), 4 * CORTEX_MM)
    for s, e in zip(starts, ends, strict=False):
        cell = idx[s]
        ts = t[s:e]
        if len(ts) % 2:  # grazing hit: drop the duplicate closest pair
            ts = ts[:-1]
        for a, b in zip(ts[0::2], ts[1::2], strict=False):
            if split_at is None:
                out["tot_pos"][cell] += b - a
            else:
                out["tot_neg"][cell] += max(0.0, min(b, split_at) - a)
                out["tot_pos"][cell] += max(0.0, b - max(a, split_at))
        for tt, cc in zip(t[s:e], cort_each[s:e], strict=False):
            key = "cort_pos" if (split_at is None or tt >= split_at) else "cort_neg"
            out[key][cell] += cc
    for side in ("neg", "pos"):
        out[f"cort_{side}"] = np.minimum(out[f"cort_{side}"], out[f"tot_{side}"])
    return out


def lateral_maps(V, F, split: bool):
    lo = V[:, [0, 2]].min(0) - 2
    hi = V[:, [0, 2]].max(0) + 2
    shape = tuple(np.ceil((hi - lo) / LAT_RES).astype(int) + 1)
    idx, t, ny = ray_hits(V, F, 1, (lo[0], lo[1]), LAT_RES, shape)
    ch = chords(idx, t, ny, shape[0] * shape[1], split_at=0.0 if split else None)
    res = {k: v.reshape(shape) for k, v in ch.items()}
    return lo, res


def volume(V, F):
    lo = V.min(0) - 2 * VOL_RES
    hi = V.max(0) + 2 * VOL_RES
    shape = tuple(np.ceil((hi - lo) / VOL_RES).astype(int) + 1)
    idx, t, _ = ray_hits(V, F, 1, (lo[0], lo[2]), VOL_RES, (shape[0], shape[2]))
    order = np.lexsort((t, idx))
    idx, t = idx[order], t[order]
    vol = np.zeros(shape, dtype=bool)
    ys = lo[1] + np.arange(shape[1]) * VOL_RES
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    for s, e in zip(starts, ends, strict=False):
        i, k = divmod(int(idx[s]), shape[2])
        ts = t[s:e]
        cnt = np.searchsorted(ts, ys)
        vol[i, :, k] = (cnt % 2) == 1
    shell = vol & ~ndimage.binary_erosion(vol)
    lab = vol.astype(np.uint8)
    lab[shell] = 2
    return lo, lab


def midsagittal_section(V, F):
    """Points where mesh edges cross the plane y = 0, as (x, z)."""
    pts = []
    for i, j in ((0, 1), (1, 2), (2, 0)):
        a, b = V[F[:, i]], V[F[:, j]]
        m = (a[:, 1] * b[:, 1]) < 0
        s = a[m, 1] / (a[m, 1] - b[m, 1])
        pts.append(a[m] + (b[m] - a[m]) * s[:, None])
    P = np.concatenate(pts)[:, [0, 2]]
    return np.unique(np.round(P, 4), axis=0)


def body_corners(P: np.ndarray) -> dict[str, list[float]]:
    """Four corners of a mid-sagittal body section: extreme points along the diagonals of the body's own frame."""
    c = P.mean(0)
    ang = 0.0
    for _ in range(5):
        ca, sa = np.cos(ang), np.sin(ang)
        u = np.array([ca, sa])  # anterior axis in (x, z)
        v = np.array([-sa, ca])  # superior axis
        q = P - c
        pu, pv = q @ u, q @ v
        cor = {}
        for name, su, sv in (
            ("superior.anterior", 1, 1),
            ("superior.posterior", -1, 1),
            ("inferior.anterior", 1, -1),
            ("inferior.posterior", -1, -1),
        ):
            cor[name] = P[np.argmax(su * pu + sv * pv)]
        d1 = cor["superior.anterior"] - cor["superior.posterior"]
        d2 = cor["inferior.anterior"] - cor["inferior.posterior"]
        d = d1 / np.linalg.norm(d1) + d2 / np.linalg.norm(d2)
        ang = float(np.arctan2(d[1], d[0]))
    return {k: [float(v[0]), float(v[1])] for k, v in cor.items()}


def endplate_half_widths(Vb: np.ndarray, cor: dict) -> dict[str, float]:
    """Half the left-right width (mm) of the body within 4 mm of each endplate line (for AP corner landmarks)."""
    out = {}
    for ep in ("superior", "inferior"):
        if f"{ep}.anterior" not in cor:
            continue
        a, p = np.asarray(cor[f"{ep}.anterior"]), np.asarray(cor[f"{ep}.posterior"])
        u = (a - p) / np.linalg.norm(a - p)
        n = np.array([-u[1], u[0]])
        q = Vb[:, [0, 2]] - (a + p) / 2
        near = (np.abs(q @ n) < 4.0) & (np.abs(q @ u) < 0.5 * np.linalg.norm(a - p))
        out[ep] = float(np.percentile(np.abs(Vb[near, 1]), 98))
    return out


def fit_sphere(P):
    A = np.c_[2 * P, np.ones(len(P))]
    b = (P**2).sum(1)
    sol, *_ = np.linalg.lstsq(A, b, rcond=None)
    c = sol[:3]
    r = np.sqrt(sol[3] + c @ c)
    return c, r


def femoral_heads(V, F):
    """Hough vote of inward-offset surface points (centre = vertex + r * outward normal), refined by a sphere fit."""
    A, B, C = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    n = np.cross(B - A, C - A)
    area = np.linalg.norm(n, axis=1)
    n /= area[:, None] + 1e-12
    cen = (A + B + C) / 3
    heads = []
    for sign in (1, -1):
        m = (sign * cen[:, 1] > 40) & (cen[:, 2] < -30) & (cen[:, 2] > -150)
        best = None
        for r in np.arange(20, 29, 1.0):
            cand = cen[m] + r * n[m]
            H, edges = np.histogramdd(
                cand, bins=[np.arange(-80, 80, 3), np.arange(-150, 150, 3), np.arange(-160, 10, 3)], weights=area[m]
            )
            k = np.unravel_index(np.argmax(H), H.shape)
            if best is None or H[k] > best[0]:
                best = (H[k], np.array([edges[d][k[d]] + 1.5 for d in range(3)]), r)
        c, r = best[1], best[2]
        for _ in range(5):
            d = np.linalg.norm(cen - c, axis=1)
            inl = m & (np.abs(d - r) < 2.5) & (np.einsum("ij,ij->i", n, c - cen) > 0.8 * d)
            c, r = fit_sphere(cen[inl])
        heads.append({"centre": [float(v) for v in c], "radius": float(r), "inliers": int(inl.sum())})
    return heads


def _soften_outside(img: np.ndarray, k_index: np.ndarray, nk: int) -> np.ndarray:
    """Beyond the CT's first/last slice the map repeats the edge slice (vertical streaks); blend it into a strongly
    smoothed version with distance from the edge so the extrapolated soft tissue has no structure."""
    smooth = ndimage.gaussian_filter(img, sigma=(12, 0))
    beyond = np.maximum(np.maximum(-k_index, k_index - (nk - 1)), 0.0)
    w = np.clip(beyond / 4.0, 0.0, 1.0)
    return (1 - w) * img + w * smooth


def soft_tissue(shared: Path, mesh_centroids: dict[str, np.ndarray]):
    import nibabel as nib

    ct_img = nib.load(shared / "totalsegmentator-example-ct" / "example_ct.nii.gz")
    ct = np.asarray(ct_img.dataobj).astype(np.float32)
    lab = np.asarray(nib.load(shared / "totalsegmentator-example-ct" / "spine_report" / "totalseg.nii.gz").dataobj)
    aff = ct_img.affine
    # body mask slice by slice: largest 2-D component after an opening that cuts the thin CT table and mattress away
    body = np.zeros(ct.shape, dtype=bool)
    for k in range(ct.shape[2]):
        sl = ndimage.binary_opening(ct[:, :, k] > -400, iterations=3)
        lbl, n = ndimage.label(sl)
        if n:
            sizes = ndimage.sum(sl, lbl, range(1, n + 1))
            body[:, :, k] = ndimage.binary_fill_holes(lbl == (1 + int(np.argmax(sizes))))
    hu = np.where(body, ct, -1000.0)
    hu = np.where(hu > 150, 40.0, hu)  # bones and metal become soft tissue; the meshes supply bone
    weq = np.clip(1.0 + hu / 1000.0, 0.0, None) * 3.0  # water-equivalent mm per 3 mm voxel
    # CT: i -> +x world (R), j -> +y (A), k -> +z (S); world = aff @ ijk
    ids = {"S1": 26, "L5": 27, "L4": 28, "L3": 29, "L2": 30, "L1": 31}
    src, dst, src_lr = [], [], []
    for name, lid in ids.items():
        ijk = np.argwhere(lab == lid).mean(0)
        w = aff[:3, :3] @ ijk + aff[:3, 3]
        src.append([w[1], w[2]])
        src_lr.append(w[0])
        dst.append(mesh_centroids[name][[0, 2]])
    src, dst = np.asarray(src), np.asarray(dst)
    # similarity (scale s, translation) from CT (A, S) to mesh (x, z); no rotation (both supine, nearly aligned)
    ms, md = src.mean(0), dst.mean(0)
    s = float(np.sum((src - ms) * (dst - md)) / np.sum((src - ms) ** 2))
    t = md - s * ms
    mid_lr = float(np.mean(src_lr))
    res = VOL_RES
    # lateral map on mesh (x, z) grid: sum over i
    lat_ct = weq.sum(0)  # (j, k)
    ap_ct = weq.sum(1)  # (i, k)
    x0, z0 = -260.0, -330.0
    nx, nz = int(480 / res), int(620 / res)
    xs = x0 + np.arange(nx) * res
    zs = z0 + np.arange(nz) * res
    X, Z = np.meshgrid(xs, zs, indexing="ij")
    A = (X - t[0]) / s
    S = (Z - t[1]) / s
    jj = (A - aff[1, 3]) / 3.0
    kk = np.clip((S - aff[2, 3]) / 3.0, 0, ct.shape[2] - 1)
    soft_lat = ndimage.map_coordinates(lat_ct, [jj, kk], order=1, mode="constant", cval=0.0) * s
    soft_lat = _soften_outside(soft_lat, (S - aff[2, 3]) / 3.0, ct.shape[2])
    y0 = -260.0
    ny = int(520 / res)
    ys = y0 + np.arange(ny) * res
    Y, Z2 = np.meshgrid(ys, zs, indexing="ij")
    R = Y / s + mid_lr
    ii = (R - aff[0, 3]) / 3.0
    kk2 = np.clip((Z2 - t[1]) / s - aff[2, 3], 0, None) / 3.0
    kk2 = np.clip(kk2, 0, ct.shape[2] - 1)
    soft_ap = ndimage.map_coordinates(ap_ct, [ii, kk2], order=1, mode="constant", cval=0.0) * s
    soft_ap = _soften_outside(soft_ap, (Z2 - t[1]) / s / 3.0 - aff[2, 3] / 3.0, ct.shape[2])
    # the 3 mm voxel outline of the body makes a staircase in the path length (3.7 mm steps in x) that console edge
    # enhancement turns into vertical streaks: smooth it out
    soft_lat = ndimage.gaussian_filter(soft_lat, sigma=(1.5, 1.0))
    soft_ap = ndimage.gaussian_filter(soft_ap, sigma=(1.5, 1.0))
    meta = {"ct_to_mesh_scale": s, "ct_to_mesh_translation_xz": [float(t[0]), float(t[1])], "ct_midline_R": mid_lr}
    # float32: float16 steps (0.25 mm at 300-500 mm) show as contour bands after console processing
    return (x0, z0), soft_lat.astype(np.float32), (y0, z0), soft_ap.astype(np.float32), meta


def priors(shared: Path) -> dict:
    import csv

    rows = list(csv.DictReader(open(shared / "uci-vertebral-column" / "column_3C_weka.csv")))
    out = {
        "source": "UCI Vertebral Column (column_3C_weka.csv), derived statistics only",
        "variables": ["PI", "PT", "LL"],
        "classes": {},
    }
    for cls in sorted({r["status"] for r in rows}):
        arr = np.array(
            [
                [float(r["pelvic_incidence"]), float(r["pelvic_tilt"]), float(r["lumbar_lordosis_angle"])]
                for r in rows
                if r["status"] == cls
            ]
        )
        slip = np.array([float(r["degree_spondylolisthesis"]) for r in rows if r["status"] == cls])
        out["classes"][cls] = {
            "n": len(arr),
            "mean": arr.mean(0).round(4).tolist(),
            "cov": np.cov(arr.T).round(4).tolist(),
            "p05": np.percentile(arr, 5, axis=0).round(3).tolist(),
            "p95": np.percentile(arr, 95, axis=0).round(3).tolist(),
            "slip_degree_median": float(np.median(slip).round(3)),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = ap.parse_args()
    shared = Path(args.shared)
    mesh_dir = shared / "artisynth-lumbosacral-meshes"
    OUT.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    info: dict = {
        "frame": "ArtiSynth VHM meshes: +x anterior, +y lateral, +z superior; mm",
        "corners": {},
        "centroids": {},
    }
    centroids = {}
    for bone in BONES:
        V, F = read_obj(mesh_dir / f"{bone}_Schrumpfverpacken.obj")
        centroids[bone] = V.mean(0)
        info["centroids"][bone] = V.mean(0).round(3).tolist()
        lo, m = lateral_maps(V, F, split=False)
        arrays[f"lat_{bone}_total"] = m["tot_pos"].astype(np.float16)
        arrays[f"lat_{bone}_cortical"] = m["cort_pos"].astype(np.float16)
        arrays[f"lat_{bone}_origin"] = lo
        vlo, vol = volume(V, F)
        arrays[f"vol_{bone}"] = vol
        arrays[f"vol_{bone}_origin"] = vlo
        Vb, Fb = read_obj(mesh_dir / f"{bone}_body.obj")
        cor = body_corners(midsagittal_section(Vb, Fb))
        if bone == "S1":
            cor = {k: v for k, v in cor.items() if k.startswith("superior")}
        info["corners"][bone] = cor
        info.setdefault("endplate_half_widths", {})[bone] = endplate_half_widths(Vb, cor)
        print(bone, "map", m["tot_pos"].shape, "vol", vol.shape, {k: np.round(v, 1).tolist() for k, v in cor.items()})
    V, F = read_obj(mesh_dir / "Pelvis.obj")
    lo, m = lateral_maps(V, F, split=True)
    for side in ("pos", "neg"):
        arrays[f"lat_pelvis_{side}_total"] = m[f"tot_{side}"].astype(np.float16)
        arrays[f"lat_pelvis_{side}_cortical"] = m[f"cort_{side}"].astype(np.float16)
        arrays[f"lat_pelvis_{side}_origin"] = lo
        arrays[f"lat_pelvis_{side}_depth"] = np.array(
            [float(np.mean(V[(V[:, 1] > 0) if side == "pos" else (V[:, 1] < 0), 1]))]
        )
    vlo, vol = volume(V, F)
    arrays["vol_pelvis"] = vol
    arrays["vol_pelvis_origin"] = vlo
    heads = femoral_heads(V, F)
    info["femoral_heads"] = heads
    print("heads", heads)
    o1, sl, o2, sa, meta = soft_tissue(shared, centroids)
    arrays["soft_lat"], arrays["soft_lat_origin"] = sl, np.asarray(o1)
    arrays["soft_ap"], arrays["soft_ap_origin"] = sa, np.asarray(o2)
    info["soft_tissue"] = meta
    info["resolution_mm"] = {"lateral_maps": LAT_RES, "volumes": VOL_RES, "soft_tissue": VOL_RES}
    np.savez_compressed(OUT / "anatomy.npz", **arrays)
    (OUT / "anatomy.json").write_text(json.dumps(info, indent=1) + "\n")
    (OUT / "priors.json").write_text(json.dumps(priors(shared), indent=1) + "\n")
    print("wrote", OUT, (OUT / "anatomy.npz").stat().st_size // 1024, "KiB")


if __name__ == "__main__":
    main()
