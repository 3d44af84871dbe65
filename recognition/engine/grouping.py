"""Which person of a session each face of a new photo is, so that a stranger seen in five
snapshots of one lesson is one "Who is this?" prompt, not five, and a decision about a person
holds for the faces that arrive after it.

Incremental: the faces of each new photo join the people found so far (or start new ones);
nothing already placed moves. A face joins a person only when it is within max_distance of
*every* face of that person (complete linkage: a chain of faces each a little nearer the next
must not join two people at its ends), and two faces of one photo never join one person (one
person appears at most once in a photo). Of the people a face may join, the one whose mean
descriptor is nearest wins, the nearest pairs first. Distances are Euclidean between
L2-normalised embeddings, as in match.py.

A person is kept as the mean of its faces' descriptors and a radius, a bound of how far its
faces are from that mean: a face farther than max_distance from the mean cannot be within it of
every face (the faces and their mean all lie in the ball of that radius around the face, which
is convex), and a face within max_distance - radius of the mean is within max_distance of every
face (the triangle inequality). Only between the two are the person's faces read, and then the
radius becomes exact again. So a camera's hundreds of snapshots are placed without reading the
session's every face each time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .match import _unit_rows, to_distance


@dataclass
class Person:
    """A person as placing sees it: the mean of its faces' L2-normalised descriptors (not
    renormalised), a bound of their distance from it, and how to read the faces when needed."""

    mean: np.ndarray
    radius: float
    faces: Callable[[], np.ndarray]  # (n, dim) descriptors of its faces


@dataclass(frozen=True)
class Placement:
    people: list  # for each new face, the index of the person it joins, or None (a new person)
    radii: dict  # {person index: exact radius} of the people whose faces were read


def place_faces(new_faces, people: list[Person], max_distance: float, allowed=None) -> Placement:
    """Place the faces of one new photo (new_faces: (F, dim)) among the people. allowed: an
    optional (F, P) bool array of the pairs that may join at all (the caller's rules besides the
    distance)."""
    count = len(new_faces)
    radii = {}
    if count == 0:
        return Placement([], radii)
    faces = _unit_rows(np.asarray(new_faces, dtype=np.float32).reshape(count, -1)).astype(np.float64)
    candidates = []  # (distance to the person's mean, face, person)
    for p, person in enumerate(people):
        to_mean = np.linalg.norm(faces - np.asarray(person.mean, dtype=np.float64), axis=1)
        possible = (
            (to_mean <= max_distance) if allowed is None else (to_mean <= max_distance) & np.asarray(allowed)[:, p]
        )
        linked = possible & (to_mean + person.radius <= max_distance)
        unsure = possible & ~linked
        if unsure.any():
            members = _unit_rows(np.asarray(person.faces(), dtype=np.float32)).astype(np.float64)
            radii[p] = exact_radius(members)
            linked |= unsure & (to_distance(faces @ members.T).max(axis=1) <= max_distance)
        candidates += [(float(to_mean[f]), int(f), p) for f in np.flatnonzero(linked)]
    placed: list[int | None] = [None] * count
    taken = set()
    for _distance, f, p in sorted(candidates):
        if placed[f] is None and p not in taken:
            placed[f] = p
            taken.add(p)
    return Placement(placed, radii)


def exact_radius(members) -> float:
    """The largest distance of these faces (unit rows) from their mean."""
    members = np.asarray(members, dtype=np.float64)
    return float(np.linalg.norm(members - members.mean(axis=0), axis=1).max()) if len(members) else 0.0


def radius_after_joining(total, count, radius, face) -> float:
    """A bound of the radius of a person (total: the sum of its count faces' unit descriptors)
    once the unit descriptor `face` has joined it: the old faces are at most radius from the old
    mean, which moved; the new one is where it is."""
    face = np.asarray(face, dtype=np.float64)
    if count == 0:
        return 0.0
    old, new = np.asarray(total) / count, (np.asarray(total) + face) / (count + 1)
    return max(radius + float(np.linalg.norm(new - old)), float(np.linalg.norm(face - new)))


def radius_after_leaving(total, count, radius, face) -> float:
    """The same once `face` has left the person (count: how many it had)."""
    if count <= 1:
        return 0.0
    old, new = np.asarray(total) / count, (np.asarray(total) - np.asarray(face, dtype=np.float64)) / (count - 1)
    return radius + float(np.linalg.norm(new - old))
