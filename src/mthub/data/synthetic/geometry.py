"""Exact ray–solid intersection for the synthetic scenes: primitives, objects, nearest-hit tracing.

Closed-form hits with analytic outward normals for spheres, capsules (segment swept by a ball), oriented boxes
(slab method) and capped cylinders. Rays are structure-of-arrays ``V3 = (x, y, z)`` tuples of contiguous
``float32`` vectors (numpy processes those faster than strided ``(N, 3)`` columns); per-frame object
parameters are gathered per ray by the ray's frame index. No loop runs over rays: loops run over objects and
their primitives only.

A ray ``o + t d`` reports its nearest hit with ``t > 1e-4`` (so that shadow/visibility rays leaving a surface
do not hit it again); directions need not be unit length, ``t`` is in units of ``|d|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "GROUND_HIT",
    "NO_HIT",
    "V3",
    "Hits",
    "Material",
    "Primitive",
    "SceneObject",
    "dot",
    "gather_frames",
    "intersect_object",
    "rotate_inv",
    "sub",
    "take",
    "trace",
]

#: ``Hits.owner`` of a ray that hits nothing.
NO_HIT = -1
#: ``Hits.owner`` of a ray whose nearest hit is the ground plane.
GROUND_HIT = -2

EPS = 1e-4  # minimum ray parameter of a hit
_F = np.float32

V3 = tuple[np.ndarray, np.ndarray, np.ndarray]


def dot(a: V3, b: V3) -> np.ndarray:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def sub(a: V3, b: V3) -> V3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def split(x: np.ndarray) -> V3:
    """``(..., 3)`` array -> tuple of three contiguous ``float32`` arrays."""
    return (np.ascontiguousarray(x[..., 0], _F), np.ascontiguousarray(x[..., 1], _F), np.ascontiguousarray(x[..., 2], _F))


def take(x: V3, idx: np.ndarray) -> V3:
    return (x[0][idx], x[1][idx], x[2][idx])


def gather_frames(per_frame: np.ndarray, frames: np.ndarray) -> V3:
    """``(T, 3)`` per-frame vectors -> per-ray ``V3`` for rays of frame ``frames``."""
    table = np.asarray(per_frame, _F)
    return tuple(np.take(np.ascontiguousarray(table[:, i]), frames) for i in range(3))  # type: ignore[return-value]


@dataclass
class Primitive:
    """One solid. All per-frame parameters have a leading frame axis ``T``.

    ``kind``:
        * ``"sphere"``: centre ``a``, ``radius``;
        * ``"capsule"``: segment ``a``–``b`` swept by a ball of ``radius`` (union of a cylinder and two spheres);
        * ``"box"``: centre ``a``, rotation ``rot`` (world-from-local, columns are the local axes), half
          extents ``half`` ``(3,)``;
        * ``"cylinder"``: capped cylinder, centre ``a``, rotation ``rot`` (local ``z`` = axis), ``radius``,
          half height ``half[2]``.

    ``part`` indexes the owning object's material colours (e.g. skin / shirt / trousers of a figure).
    """

    kind: str
    a: np.ndarray
    radius: float = 0.0
    b: np.ndarray | None = None
    rot: np.ndarray | None = None
    half: np.ndarray | None = None
    part: int = 0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding spheres: centres ``(T, 3)`` and radii ``(T,)`` (computed once: primitives are not mutated)."""
        if "_bounds" not in self.__dict__:
            self.__dict__["_bounds"] = self._compute_bounds()
        return self.__dict__["_bounds"]

    def _compute_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        t_frames = self.a.shape[0]
        if self.kind == "sphere":
            return self.a, np.full(t_frames, self.radius)
        if self.kind == "capsule":
            assert self.b is not None
            return (self.a + self.b) / 2, np.linalg.norm(self.b - self.a, axis=-1) / 2 + self.radius
        if self.kind == "box":
            assert self.half is not None
            return self.a, np.full(t_frames, float(np.linalg.norm(self.half)))
        if self.kind == "cylinder":
            assert self.half is not None
            return self.a, np.full(t_frames, float(np.hypot(self.radius, self.half[2])))
        raise ValueError(f"unknown primitive kind {self.kind!r}")


@dataclass
class Material:
    """Procedural solid texture, evaluated at the hit point in the object's local frame (so it moves and turns
    with the object).

    Attributes:
        pattern: ``"checker"``, ``"stripes"``, ``"noise"`` (smooth value noise) or ``"plain"``.
        colors: ``(P, 2, 3)`` linear RGB in [0, 1]: two colours per part, mixed by the pattern.
        scale: pattern frequency in cells per metre.
        axis: local axis of the stripes.
        seed: noise seed.
    """

    pattern: str
    colors: np.ndarray
    scale: float = 3.0
    axis: int = 0
    seed: int = 0


@dataclass
class SceneObject:
    """A rigid or articulated object: primitives plus the frame its texture lives in."""

    class_id: int
    primitives: list[Primitive]
    material: Material
    origin: np.ndarray  # (T, 3) texture-frame origin
    rot: np.ndarray  # (T, 3, 3) texture frame, world-from-local

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """One bounding sphere per frame around all primitives: centres ``(T, 3)``, radii ``(T,)`` (cached)."""
        if "_bounds" in self.__dict__:
            return self.__dict__["_bounds"]
        centres, radii = zip(*(p.bounds() for p in self.primitives))
        c = np.stack(centres)  # (P, T, 3)
        r = np.stack(radii)  # (P, T)
        lo, hi = (c - r[..., None]).min(0), (c + r[..., None]).max(0)
        centre = (lo + hi) / 2
        radius = (np.linalg.norm(c - centre[None], axis=-1) + r).max(0)
        self.__dict__["_bounds"] = (centre, radius)
        return centre, radius


@dataclass
class Hits:
    """Nearest hits of a batch of rays (all arrays ``(N,)``; ``normal`` is a world-frame ``V3``)."""

    t: np.ndarray
    owner: np.ndarray  # object index, NO_HIT or GROUND_HIT
    part: np.ndarray
    normal: V3


# ------------------------------------------------------------------------------------------ ray–solid tests
def _quadratic_near(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Smaller root of ``a t^2 + 2 b t + c``, ``inf`` where there is no real root or ``a ~ 0``."""
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (-b - np.sqrt(np.maximum(disc, 0))) / a
    return np.where((disc >= 0) & (a > 1e-12), t, np.inf)


def _hit_sphere(o: V3, d: V3, c: V3, r: float | np.ndarray) -> tuple[np.ndarray, V3]:
    oc = sub(o, c)
    t = _quadratic_near(dot(d, d), dot(d, oc), dot(oc, oc) - r * r)
    t = np.where(t > EPS, t, np.inf)
    n = tuple((oc[i] + t * d[i]) / r for i in range(3))
    return t, n  # type: ignore[return-value]


def _hit_capsule(o: V3, d: V3, pa: V3, pb: V3, r: float) -> tuple[np.ndarray, V3]:
    # Lateral surface: |(p - pa) x ba|^2 = r^2 |ba|^2 with p = o + t d, restricted to 0 < (p - pa).ba < |ba|^2.
    # The flat ends of that finite cylinder lie inside the end spheres, so the union's first hit is the minimum
    # of the lateral hit and the two sphere hits.
    ba, oa = sub(pb, pa), sub(o, pa)
    baba, bard, baoa = dot(ba, ba), dot(ba, d), dot(ba, oa)
    t = _quadratic_near(baba * dot(d, d) - bard * bard, baba * dot(d, oa) - baoa * bard, baba * dot(oa, oa) - baoa * baoa - r * r * baba)
    y = baoa + t * bard
    t = np.where((t > EPS) & (y > 0) & (y < baba), t, np.inf)
    with np.errstate(invalid="ignore"):
        s = np.where(np.isfinite(t), y / baba, 0.0)
        n = tuple((oa[i] + np.where(np.isfinite(t), t, 0) * d[i] - s * ba[i]) / r for i in range(3))
    for end in (pa, pb):
        ts, ns = _hit_sphere(o, d, end, r)
        better = ts < t
        t = np.where(better, ts, t)
        n = tuple(np.where(better, ns[i], n[i]) for i in range(3))
    return t, n  # type: ignore[return-value]


def rotate_inv(x: V3, rot: np.ndarray) -> V3:
    """``R^T x`` with per-ray rotations ``rot`` ``(M, 3, 3)`` (world -> local for world-from-local ``R``)."""
    return tuple(rot[:, 0, j] * x[0] + rot[:, 1, j] * x[1] + rot[:, 2, j] * x[2] for j in range(3))  # type: ignore[return-value]


def _to_local(o: V3, d: V3, c: V3, rot: np.ndarray) -> tuple[V3, V3]:
    """Rays into a solid's frame: ``R^T (o - c)``, ``R^T d`` with per-ray ``rot`` ``(M, 3, 3)``."""
    return rotate_inv(sub(o, c), rot), rotate_inv(d, rot)


def _to_world(n_local: V3, rot: np.ndarray) -> V3:
    return tuple(rot[:, i, 0] * n_local[0] + rot[:, i, 1] * n_local[1] + rot[:, i, 2] * n_local[2] for i in range(3))  # type: ignore[return-value]


def _hit_box(o: V3, d: V3, c: V3, rot: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, V3]:
    ol, dl = _to_local(o, d, c, rot)
    t_enter = np.full(ol[0].shape, -np.inf, _F)
    t_exit = np.full(ol[0].shape, np.inf, _F)
    axis = np.zeros(ol[0].shape, np.int8)
    for i in range(3):  # slab method
        di = np.where(np.abs(dl[i]) < 1e-12, 1e-12, dl[i])
        t1, t2 = (-half[i] - ol[i]) / di, (half[i] - ol[i]) / di
        near, far = np.minimum(t1, t2), np.maximum(t1, t2)
        axis = np.where(near > t_enter, i, axis).astype(np.int8)
        t_enter, t_exit = np.maximum(t_enter, near), np.minimum(t_exit, far)
    t = np.where((t_enter <= t_exit) & (t_enter > EPS), t_enter, np.inf)
    # Outward normal of the entry face: -sign(d) along the entry axis.
    nl = tuple(np.where(axis == i, -np.sign(dl[i]), 0.0).astype(_F) for i in range(3))
    return t, _to_world(nl, rot)  # type: ignore[arg-type]


def _hit_cylinder(o: V3, d: V3, c: V3, rot: np.ndarray, r: float, hh: float) -> tuple[np.ndarray, V3]:
    ol, dl = _to_local(o, d, c, rot)
    t = _quadratic_near(dl[0] * dl[0] + dl[1] * dl[1], ol[0] * dl[0] + ol[1] * dl[1], ol[0] * ol[0] + ol[1] * ol[1] - r * r)
    z = ol[2] + t * dl[2]
    t = np.where((t > EPS) & (np.abs(z) <= hh), t, np.inf)
    with np.errstate(invalid="ignore"):
        nl = [np.where(np.isfinite(t), (ol[i] + t * dl[i]) / r, 0.0) for i in range(2)] + [np.zeros_like(t)]
    # Caps: the plane z = +hh or -hh facing the ray origin.
    dz = np.where(np.abs(dl[2]) < 1e-12, 1e-12, dl[2])
    cap = np.where(dl[2] < 0, hh, -hh)
    tc = (cap - ol[2]) / dz
    xc, yc = ol[0] + tc * dl[0], ol[1] + tc * dl[1]
    tc = np.where((tc > EPS) & (xc * xc + yc * yc <= r * r), tc, np.inf)
    better = tc < t
    t = np.where(better, tc, t)
    nl = [np.where(better, 0.0, nl[0]), np.where(better, 0.0, nl[1]), np.where(better, np.sign(cap), nl[2])]
    return t, _to_world(tuple(x.astype(_F) for x in nl), rot)  # type: ignore[arg-type]


def _hit_primitive(p: Primitive, o: V3, d: V3, frames: np.ndarray) -> tuple[np.ndarray, V3]:
    # Misses carry t = inf; their (discarded) normals may evaluate inf * 0 = nan: silence those warnings only here.
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return _hit_primitive_impl(p, o, d, frames)


def _hit_primitive_impl(p: Primitive, o: V3, d: V3, frames: np.ndarray) -> tuple[np.ndarray, V3]:
    a = gather_frames(p.a, frames)
    if p.kind == "sphere":
        return _hit_sphere(o, d, a, p.radius)
    if p.kind == "capsule":
        assert p.b is not None
        return _hit_capsule(o, d, a, gather_frames(p.b, frames), p.radius)
    rot = p.rot.astype(_F, copy=False)[frames]  # type: ignore[union-attr]
    if p.kind == "box":
        return _hit_box(o, d, a, rot, np.asarray(p.half, _F))
    if p.kind == "cylinder":
        return _hit_cylinder(o, d, a, rot, p.radius, float(p.half[2]))  # type: ignore[index]
    raise ValueError(f"unknown primitive kind {p.kind!r}")


# ---------------------------------------------------------------------------------------------------- tracing
def _sphere_candidates(
    bounds: tuple[np.ndarray, np.ndarray], o: V3, d: V3, frames: np.ndarray, t_limit: np.ndarray
) -> np.ndarray:
    """Indices of the rays that meet the bounding spheres ``(centres (T, 3), radii (T,))`` in front of their
    origin and before ``t_limit``."""
    centre, radius = bounds
    oc = sub(o, gather_frames(centre, frames))
    r = np.take(np.asarray(radius, _F), frames)
    dd = dot(d, d)
    b = dot(d, oc)
    disc = b * b - dd * (dot(oc, oc) - r * r)
    cand = disc > 0
    sq = np.sqrt(np.where(cand, disc, 0))
    cand &= (-b + sq > EPS * dd) & (-b - sq < t_limit * dd)
    return np.flatnonzero(cand)


def intersect_object(
    obj: SceneObject, o: V3, d: V3, frames: np.ndarray, t_limit: np.ndarray, normals: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, V3 | None]:
    """Nearest hit of each ray with ``obj`` closer than ``t_limit``.

    The object's per-frame bounding sphere culls rays first; the exact primitive tests run only on the rest.

    Args:
        o, d: rays ``(M,)`` each component; frames: ``(M,)`` frame index; t_limit: ``(M,)``.
        normals: also return world-frame normals (skip for shadow rays).

    Returns:
        ``hit`` ``(M,)`` bool, ``t`` ``(M,)`` (``t_limit`` where not hit), ``part`` ``(M,)`` int8, normals
        ``V3`` (zeros where not hit) or ``None``.
    """
    m = frames.shape[0]
    t_out = np.array(t_limit, _F, copy=True)
    hit = np.zeros(m, bool)
    part = np.zeros(m, np.int8)
    n_out = (np.zeros(m, _F), np.zeros(m, _F), np.zeros(m, _F)) if normals else None
    if m == 0:
        return hit, t_out, part, n_out
    idx = _sphere_candidates(obj.bounds(), o, d, frames, t_out)
    if idx.size == 0:
        return hit, t_out, part, n_out
    o_s, d_s, f_s = take(o, idx), take(d, idx), frames[idx]
    t_s = t_out[idx]
    hit_s = np.zeros(idx.size, bool)
    part_s = np.zeros(idx.size, np.int8)
    n_s = [np.zeros(idx.size, _F) for _ in range(3)]
    many = len(obj.primitives) > 1
    for prim in obj.primitives:
        if many:  # cull again with the primitive's own bounding sphere (a figure's limbs cover few of its rays)
            sub_idx = _sphere_candidates(prim.bounds(), o_s, d_s, f_s, t_s)
            if sub_idx.size == 0:
                continue
            tp_sub, npr_sub = _hit_primitive(prim, take(o_s, sub_idx), take(d_s, sub_idx), f_s[sub_idx])
            better_sub = tp_sub < t_s[sub_idx]
            if not better_sub.any():
                continue
            rows = sub_idx[better_sub]
            t_s[rows] = tp_sub[better_sub]
            hit_s[rows] = True
            part_s[rows] = prim.part
            if normals:
                for i in range(3):
                    n_s[i][rows] = npr_sub[i][better_sub]
            continue
        tp, npr = _hit_primitive(prim, o_s, d_s, f_s)
        better = tp < t_s
        if not better.any():
            continue
        t_s = np.where(better, tp, t_s)
        hit_s |= better
        part_s[better] = prim.part
        if normals:
            for i in range(3):
                n_s[i][better] = npr[i][better]
    sel = idx[hit_s]
    hit[sel] = True
    t_out[sel] = t_s[hit_s]
    part[sel] = part_s[hit_s]
    if n_out is not None:
        for i in range(3):
            n_out[i][sel] = n_s[i][hit_s]
    return hit, t_out, part, n_out


def trace(
    objects: list[SceneObject],
    origins: V3,
    dirs: V3,
    frames: np.ndarray,
    t_max: np.ndarray | float = np.inf,
    ground: bool = False,
    normals: bool = True,
) -> Hits:
    """Nearest hit of each ray among ``objects`` (and the ground plane ``z = 0`` if ``ground``).

    Args:
        origins, dirs: ``V3`` of ``(N,)`` arrays (world); directions need not be unit length.
        frames: ``(N,)`` frame index of each ray (selects the objects' per-frame pose).
        t_max: hits at ``t >= t_max`` are ignored.
        normals: gather normals (``False`` for occlusion queries: ``Hits.normal`` is then all zeros).

    Returns:
        :class:`Hits`; rays that hit nothing have ``t = t_max`` and ``owner = NO_HIT``.
    """
    n = frames.shape[0]
    best = np.empty(n, _F)
    best[:] = t_max
    owner = np.full(n, NO_HIT, np.int16)
    part = np.zeros(n, np.int8)
    normal = (np.zeros(n, _F), np.zeros(n, _F), np.zeros(n, _F))
    if ground:
        with np.errstate(divide="ignore", invalid="ignore"):
            tg = -origins[2] / dirs[2]
        ok = (dirs[2] < 0) & (tg > EPS) & (tg < best)
        best[ok] = tg[ok]
        owner[ok] = GROUND_HIT
        normal[2][ok] = 1.0
    for k, obj in enumerate(objects):
        hit, t, p, nrm = intersect_object(obj, origins, dirs, frames, best, normals)
        best[hit] = t[hit]
        owner[hit] = k
        part[hit] = p[hit]
        if nrm is not None:
            for i in range(3):
                normal[i][hit] = nrm[i][hit]
    return Hits(t=best, owner=owner, part=part, normal=normal)
