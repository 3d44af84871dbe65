"""Evaluate the face engine on a labelled face dataset, beside face_recognition (the peer).

    python bench/evaluate.py DATASET_DIR [--embedder dlib|facenet] [--json OUT] [--no-write]

Calls only recognition.engine functions for our pipeline (no Django), so the
numbers are what the worker does. Makes the faces (the photos as they are, and degraded
the way distance degrades them: bench/classroom.py), has the engine calibrate its rules per
face-size band on them (recognition.engine.calibration.calibrate, with identities held out
in k folds), measures what the rules do on held-out identities, and writes the rules with
their evidence to recognition/engine/calibrations/<model>.json. The last stdout line is one
JSON object. See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import random
import statistics
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from bench.classroom import (  # noqa: E402
    ROOM_FACE_PX,
    ROOM_SCALE_JITTER,
    Cache,
    analyse_degraded,
    face_at_size,
    iou,
    median_whole_face,
    rng_for,
    room_snapshot,
    side,
)
from recognition.engine import calibration as calibration_module  # noqa: E402
from recognition.engine.calibration import (  # noqa: E402
    BAND_LAYOUT,
    Sample,
    calibrate,
    cross_validated,
    identity_folds,
    series_ranges,
    single_threshold,
    write_calibration,
)
from recognition.engine.detect import FaceDetector  # noqa: E402
from recognition.engine.embedders import load_embedder  # noqa: E402
from recognition.engine.images import load_image  # noqa: E402
from recognition.engine.match import (  # noqa: E402
    MARK,
    SUGGEST,
    Gallery,
    decide,
    decide_people,
    decide_person,
    typical_quality,
)
from recognition.engine.pipeline import (  # noqa: E402
    EnrolmentRejected,
    analyse_photo,
    choose_enrolment_face,
    embed_face_at_sizes,
)
from recognition.engine.quality import face_qualities  # noqa: E402
from recognition.engine.threads import configure_threads  # noqa: E402

IOU_MATCH = 0.4
PEER_TOLERANCE = 0.6  # face_recognition's documented default
N_STRANGERS = 3


def score_detections(detections, truth):
    """detections: [(box, score)]; truth: [(box, label)].
    Returns found, false boxes, duplicates, counted faces."""
    faces = [b for b, label in truth if label == "face"]
    ignored = [b for b, label in truth if label == "ignore"]
    used = set()
    found = false = duplicates = 0
    for box, _ in sorted(detections, key=lambda d: -d[1]):
        best, best_iou = None, IOU_MATCH
        for j, face in enumerate(faces):
            if j not in used and iou(box, face) >= best_iou:
                best, best_iou = j, iou(box, face)
        if best is not None:
            used.add(best)
            found += 1
        elif any(iou(box, face) >= IOU_MATCH for face in faces):
            duplicates += 1  # a second box on a face already found
        elif not any(iou(box, g) >= IOU_MATCH for g in ignored):
            false += 1
    return found, false, duplicates, len(faces)


def read_boxes(dataset: Path):
    truth = defaultdict(list)
    with open(dataset / "group_boxes.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            truth[row["file"]].append(
                ((float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])), row["label"])
            )
    return dict(sorted(truth.items()))


def identity_images(dataset: Path):
    people = {}
    for folder in sorted(p for p in (dataset / "identities").iterdir() if p.is_dir()):
        images = sorted(folder.glob("*.jpg")) + sorted(folder.glob("*.png"))
        if images:
            people[folder.name] = sorted(images)
    return people


# ---------------------------------------------------------------- our pipeline


def bench_group_ours(dataset, truth, detector, embedder, repeats):
    print(
        f"\n## 1. Group photos (ours: MTCNN + align + {embedder.name}), time = median of {repeats} runs after a warm-up"
    )
    print("| photo | counted | found | false | dup | detect ms | embed ms | total s |")
    print("|---|---|---|---|---|---|---|---|")
    totals = defaultdict(float)
    per_photo, analysed = {}, {}
    for name, boxes in truth.items():
        pixels = np.asarray(load_image(dataset / name))
        analyse_photo(pixels, detector, embedder)  # warm-up
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = analyse_photo(pixels, detector, embedder)
            runs.append((time.perf_counter() - start, result.detect_ms, result.embed_ms))
        seconds = statistics.median(r[0] for r in runs)
        det_ms = statistics.median(r[1] for r in runs)
        emb_ms = statistics.median(r[2] for r in runs)
        quality_start = time.perf_counter()
        analysed[name] = (result, face_qualities(pixels, result))
        totals["quality_s"] += time.perf_counter() - quality_start
        found, false, dup, counted = score_detections([(f.box, f.score) for f in result], boxes)
        print(
            f"| {Path(name).name} | {counted} | {found} | {false} | {dup} | {det_ms:.0f} | {emb_ms:.0f} | {seconds:.2f} |"
        )
        for key, value in (
            ("found", found),
            ("false", false),
            ("dup", dup),
            ("counted", counted),
            ("seconds", seconds),
            ("detect_s", det_ms / 1000),
            ("embed_s", emb_ms / 1000),
        ):
            totals[key] += value
        per_photo[name] = {"found": found, "false": false, "dup": dup, "counted": counted, "seconds": round(seconds, 3)}
    print(
        f"| **total** | {totals['counted']:.0f} | {totals['found']:.0f} | {totals['false']:.0f} | {totals['dup']:.0f} | "
        f"{totals['detect_s'] * 1000:.0f} | {totals['embed_s'] * 1000:.0f} | {totals['seconds']:.2f} |"
    )
    print(
        f"face quality measures: {totals['quality_s'] * 1000:.1f} ms for all {totals['found'] + totals['false'] + totals['dup']:.0f} faces"
    )
    return totals, per_photo, analysed


def embed_identities_ours(people, detector, embedder, cache):
    """Per image: embedding, quality and box of the largest face (or None), and the enrolment
    embeddings embed_enrolment_photo_at_sizes() would give at every gallery size (or its
    refusal reason)."""
    probes, enrolments, qualities, boxes = {}, {}, {}, {}

    def measure(path):
        pixels = np.asarray(load_image(path))
        faces = analyse_photo(pixels, detector, embedder)
        largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), default=None)
        try:
            # = embed_enrolment_photo_at_sizes(), reusing the detection above
            enrolment = embed_face_at_sizes(pixels, choose_enrolment_face(faces), embedder, GALLERY_SIZES)
        except EnrolmentRejected as exc:
            enrolment = str(exc)
        if largest is None:
            return None, None, None, enrolment
        return largest.embedding, face_qualities(pixels, [largest])[0], largest.box, enrolment

    for paths in people.values():
        for path in paths:
            probes[path], qualities[path], boxes[path], enrolments[path] = cache.get(
                ("identity", photo_key(path)), measure, path
            )
    cache.save()
    return probes, enrolments, qualities, boxes


def closed_and_open_set(people, probes, enrolments, choose, label):
    """Enrol the largest face of the first image of each person (as the peer's
    protocol), probe the rest by their largest face.
    choose(probe_vectors, (rows, labels)) -> list of (marked label or None, nearest label)."""
    rng = random.Random(0)
    strangers = sorted(rng.sample(sorted(people), N_STRANGERS))
    enrolled, enrol_failed, enrol_refused = {}, [], []
    for person, paths in people.items():
        if probes[paths[0]] is None:
            enrol_failed.append(person)
        else:
            enrolled[person] = probes[paths[0]]
        if isinstance(enrolments[paths[0]], str):
            enrol_refused.append(f"{paths[0].name}: {enrolments[paths[0]]}")
    result = {
        "rank1_correct": 0,
        "rank1_total": 0,
        "accepted_right": 0,
        "accepted_wrong": 0,
        "rejected": 0,
        "no_face": 0,
    }
    errors = []
    gallery = (np.stack([enrolled[p] for p in enrolled]), list(enrolled))
    for person, paths in people.items():
        for path in paths[1:]:
            result["rank1_total"] += 1
            if probes[path] is None:
                result["no_face"] += 1
                errors.append(f"{path.parent.name}/{path.name}: no face")
                continue
            decided, nearest = choose(probes[path][None], gallery)[0]
            result["rank1_correct"] += nearest == person
            if decided is None:
                result["rejected"] += 1
            elif decided == person:
                result["accepted_right"] += 1
            else:
                result["accepted_wrong"] += 1
            if decided != person:
                errors.append(f"{path.parent.name}/{path.name} -> {decided} (nearest {nearest})")
    open_gallery = (
        np.stack([enrolled[p] for p in enrolled if p not in strangers]),
        [p for p in enrolled if p not in strangers],
    )
    stranger_total = stranger_accepted = 0
    for person in strangers:
        for path in people[person]:
            stranger_total += 1
            if probes[path] is not None and choose(probes[path][None], open_gallery)[0][0] is not None:
                stranger_accepted += 1
    print(
        f"\n## 2-3. Identification ({label}): enrolled {len(enrolled)}, no face in the enrolment image: {enrol_failed or 'none'}"
    )
    for line in enrol_refused:
        print(f"    (the enrolment rules would refuse {line})")
    print(
        f"rank-1 {result['rank1_correct']}/{result['rank1_total']}; at the threshold: right {result['accepted_right']}, "
        f"wrong person {result['accepted_wrong']}, unknown {result['rejected']}, no face {result['no_face']}"
    )
    for line in errors:
        print("   ", line)
    print(
        f"open set: strangers {strangers} removed; {stranger_accepted}/{stranger_total} of their images accepted as someone"
    )
    result.update(strangers=strangers, strangers_accepted=stranger_accepted, strangers_total=stranger_total)
    return result


def threshold_sweep(people, probes, enrolments, strangers, thresholds, chosen):
    """Verification pairs over all identity images and the probe protocol at each threshold."""
    paths = [p for person in people for p in people[person] if probes[p] is not None]
    vectors = np.stack([probes[p] for p in paths])
    owners = np.array([p.parent.name for p in paths])
    dist = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
    upper = np.triu_indices(len(paths), 1)
    same = owners[upper[0]] == owners[upper[1]]
    genuine, impostor = dist[upper][same], dist[upper][~same]
    enrolled = {person: probes[people[person][0]] for person in people if probes[people[person][0]] is not None}
    gallery = Gallery(list(enrolled.values()), list(enrolled))
    open_gallery = Gallery(
        [v for k, v in enrolled.items() if k not in strangers], [k for k in enrolled if k not in strangers]
    )
    print(
        f"\n## 6. Threshold sweep (L2-normalised distance); genuine pairs {len(genuine)}, impostor pairs {len(impostor)}"
    )
    print(
        f"genuine max {genuine.max():.3f}, 99th pct {np.percentile(genuine, 99):.3f}; impostor min {impostor.min():.3f}, 1st pct {np.percentile(impostor, 1):.3f}"
    )
    print(
        "| threshold | pairs false reject | pairs false accept | probes right | probes wrong | probes unknown | strangers accepted |"
    )
    print("|---|---|---|---|---|---|---|")
    for t in thresholds:
        right = wrong = unknown = accepted = 0
        for person in people:
            for path in people[person][1:]:
                if probes[path] is None:
                    unknown += 1
                    continue
                marked = decide(probes[path][None], gallery, None, None, single_threshold(t))[0].marked_student
                right += marked == person
                wrong += marked is not None and marked != person
                unknown += marked is None
            if person in strangers:
                for path in people[person]:
                    if probes[path] is not None:
                        accepted += (
                            decide(probes[path][None], open_gallery, None, None, single_threshold(t))[0].kind == MARK
                        )
        mark = " (default)" if abs(t - chosen) < 1e-9 else ""
        print(
            f"| {t:.2f}{mark} | {(genuine > t).sum()} ({(genuine > t).mean():.1%}) | {(impostor <= t).sum()} ({(impostor <= t).mean():.2%}) | "
            f"{right} | {wrong} | {unknown} | {accepted} |"
        )


# ---------------------------------------------------------------- tiers and calibration


COURSES = 3  # identities are split round-robin into this many courses of one school
GALLERY_SIZES = tuple(sorted({0, *(gallery_px for _, gallery_px in BAND_LAYOUT)}))
SERIES_VIEWS = 6  # degraded views of each photo per band: the band's calibration faces
TABLE_SIZES = (64, 55, 48, 42, 32, 30, 24)  # the classroom table's identity probes (px): the issue's and the targets'
TABLE_VIEWS = 3  # degraded views per photo and size
GROUP_SCALES = (0.6, 0.45, 0.33)
GROUP_JPEG = 70
ROOM_VIEWS = 5  # snapshots of one group photo sent to one session
ROOM_IDENTITY_PX = (28, 32)  # the identity photos' room-camera snapshots: face box (detector's) in this range


def course_of(people):
    return {person: i % COURSES for i, person in enumerate(sorted(people))}


def photo_key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def enrolment_list(people, enrolments, persons, leave_out=None):
    """(person, photo, size, vector) of every usable enrolment photo of these persons."""
    return [
        (p, photo_key(path), size, vector)
        for p in persons
        for path in people[p]
        if path != leave_out and not isinstance(enrolments[path], str)
        for size, vector in enrolments[path].items()
    ]


def enrolment_rows(people, enrolments, persons, leave_out=None):
    return Gallery.from_rows(enrolment_list(people, enrolments, persons, leave_out), GALLERY_SIZES)


def degraded_views(people, boxes, detector, embedder, cache):
    """Per image: the calibration series ({band: [view]}, SERIES_VIEWS views at sizes drawn in
    the band's range), the classroom table's views ({size: [view]}) and the room camera's
    ([view], ROOM_VIEWS at ROOM_IDENTITY_PX); a view is (vector, quality), or None when the
    detector found no face in it."""
    series, table, room = defaultdict(dict), defaultdict(dict), {}
    for paths in people.values():
        for path in paths:
            if boxes[path] is None:
                continue
            pixels = []  # read once, only if a view is not in the cache
            view = (cache, path, pixels, boxes[path], detector, embedder)
            for b, (start, end) in enumerate(series_ranges()):
                if side(boxes[path]) > start:
                    series[path][b] = views(*view, SERIES_VIEWS, (start, min(end, side(boxes[path]))), "series", b)
            for size in TABLE_SIZES:
                if side(boxes[path]) > size:
                    table[path][size] = views(*view, TABLE_VIEWS, (size, size), "table", size)
            if side(boxes[path]) > ROOM_IDENTITY_PX[1]:
                room[path] = views(*view, ROOM_VIEWS, ROOM_IDENTITY_PX, "room")
    cache.save()
    return series, table, room


def views(cache, path, pixels, box, detector, embedder, count, sizes, kind, *key):
    """`count` degraded views of the photo's face (cached under kind, the photo and key)."""
    return [
        cache.get(
            (kind, photo_key(path), *key, k),
            degraded_view,
            path,
            pixels,
            box,
            sizes,
            (kind, *key, k),
            detector,
            embedder,
        )
        for k in range(count)
    ]


def degraded_view(path, pixels, box, sizes, key, detector, embedder):
    """One view of the photo's face at a size drawn from sizes (low, high), or None."""
    if not pixels:
        pixels.append(np.asarray(load_image(path)))
    rng = rng_for(photo_key(path), *key)
    return face_at_size(pixels[0], box, rng.uniform(*sizes), rng, detector, embedder)


def calibration_samples(people, probes, qualities, series):
    """The engine's calibration faces: each photo as it is, and its degraded series."""
    samples = []
    for person, paths in people.items():
        for path in paths:
            if probes[path] is None:
                continue
            samples.append(Sample(person, photo_key(path), probes[path], qualities[path]))
            for band, views in series[path].items():
                samples.extend(
                    Sample(person, photo_key(path), v[0], v[1], f"band{band}") for v in views if v is not None
                )
    return samples


TIER_KEYS = (
    "known",
    "marked_right",
    "marked_wrong",
    "suggested_right",
    "suggested_wrong",
    "missed",
    "strangers",
    "strangers_marked",
    "strangers_suggested",
)


def tally(counts, decision, who):
    """Count one face; who = the identity it is, or None for a stranger."""
    kind = decision.kind if decision is not None else "unknown"
    if who is None:
        counts["strangers"] += 1
        counts["strangers_marked"] += kind == MARK
        counts["strangers_suggested"] += kind == SUGGEST
        return
    counts["known"] += 1
    if kind == MARK:
        counts["marked_right" if decision.student == who else "marked_wrong"] += 1
    elif kind == SUGGEST:
        counts["suggested_right" if decision.student == who else "suggested_wrong"] += 1
    else:
        counts["missed"] += 1


class Gaps:
    """Per band: how far the nearest impostor or stranger stayed beyond the auto-mark distance
    that applied to it (held out): the margin to the first false mark."""

    def __init__(self):
        self.single, self.person = {}, {}

    def note(self, calibration, quality, decision, person_level=False):
        band = calibration.band_of(quality)
        point = band.person_point if person_level else band.point
        index = calibration.bands.index(band)
        record = self.person if person_level else self.single
        gap = decision.distance - point.mark_distance_for(decision.photos)
        record[index] = min(record.get(index, float("inf")), gap)

    def merge(self, other):
        for mine, theirs in ((self.single, other.single), (self.person, other.person)):
            for index, gap in theirs.items():
                mine[index] = min(mine.get(index, float("inf")), gap)


def identity_tiers(people, views, enrolments, known, strangers, calibration, gaps=None, errors=None):
    """Identity probes as captures of a school where everyone in `people` is enrolled and split
    into courses. A known face (each view of each image of `known`) is matched against every
    other enrolment photo, its course as roster; a stranger (each person of `strangers`) is left
    out of the school and each view of their images is matched against their former course.
    views: {path: [(vector, quality) or None]}."""
    counts = dict.fromkeys(TIER_KEYS, 0)
    course = course_of(people)
    for person in known:
        roster = [p for p in people if course[p] == course[person]]
        for path in people[person]:
            gallery = None
            for view in views.get(path, ()):
                if view is None:
                    tally(counts, None, person)
                    continue
                gallery = gallery or enrolment_rows(people, enrolments, people, leave_out=path)
                d = decide(view[0][None], gallery, roster, [view[1]], calibration)[0]
                tally(counts, d, person)
                if gaps is not None and d.student != person:
                    gaps.note(calibration, view[1], d)
                if errors is not None and (d.kind != MARK or d.student != person):
                    errors.append(f"{photo_key(path)}: {d.kind} {d.student} {d.distance:.3f} ({d.reason})")
    for person in strangers:
        school = [p for p in people if p != person]
        gallery = enrolment_rows(people, enrolments, school)
        roster = [p for p in school if course[p] == course[person]]
        for path in people[person]:
            for view in views.get(path, ()):
                if view is not None:
                    d = decide(view[0][None], gallery, roster, [view[1]], calibration)[0]
                    tally(counts, d, None)
                    if gaps is not None:
                        gaps.note(calibration, view[1], d)
    return counts


def labelled_boxes(dataset):
    labelled = defaultdict(list)
    with open(dataset / "group_identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            labelled[row["file"]].append(
                ((float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])), row["identity"])
            )
    return labelled


def group_truth(dataset, analysed, scale=1.0):
    """For each detected face of each group photo (analysed at `scale`): the identity it is, or
    None (a stranger): faces of photos group_identities.csv does not list are all people outside
    the set. Also the labelled identities the detector missed."""
    labelled = labelled_boxes(dataset)
    out = {}
    for name, (result, _) in analysed.items():
        boxes = [(tuple(v * scale for v in box), who) for box, who in labelled[name]]
        whos = []
        for face in result:
            best_iou, who = max(((iou(face.box, box), who) for box, who in boxes), default=(0.0, "unknown"))
            whos.append(who if best_iou >= IOU_MATCH and who != "unknown" else None)
        undetected = [
            who
            for box, who in boxes
            if who != "unknown" and not any(iou(face.box, box) >= IOU_MATCH for face in result)
        ]
        out[name] = (whos, undetected)
    return out


def group_tiers(analysed, truth, gallery, calibration, only=None, errors=None, gaps=None):
    """Each group photo as a capture of one course holding every enrolled identity.
    only: count known faces of these identities only (their fold); strangers always count.
    Returns the counts and the strangers marked and suggested, as (photo, face) pairs."""
    counts = dict.fromkeys(TIER_KEYS, 0)
    marked_strangers, suggested_strangers = set(), set()
    for name, (result, qualities) in analysed.items():
        whos, undetected = truth[name]
        vectors = np.stack([f.embedding for f in result]) if len(result) else np.zeros((0, gallery.embeddings.shape[1]))
        decisions = decide(vectors, gallery, None, qualities, calibration)
        for k, (d, who) in enumerate(zip(decisions, whos)):
            if who is None or only is None or who in only:
                tally(counts, d, who)
                if gaps is not None and d.student is not None and d.student != who:
                    gaps.note(calibration, qualities[k], d)
            if who is None and d.kind == MARK:
                marked_strangers.add((name, k))
            if who is None and d.kind == SUGGEST:
                suggested_strangers.add((name, k))
            if errors is not None and d.kind != ("unknown" if who is None else MARK):
                errors.append(
                    f"{Path(name).name} face {k} ({who or 'stranger'}): {d.kind} {d.student} {d.distance:.3f} ({d.reason})"
                )
        for who in undetected:
            if only is None or who in only:
                tally(counts, None, who)
    return counts, marked_strangers, suggested_strangers


def add(total, counts):
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value


def print_tiers(title, counts):
    print(
        f"{title}: known {counts['known']}: auto-marked right {counts['marked_right']}, wrong {counts['marked_wrong']}; "
        f"suggested right {counts['suggested_right']}, wrong {counts['suggested_wrong']}; missed {counts['missed']} | "
        f"strangers {counts['strangers']}: auto-marked {counts['strangers_marked']}, suggested {counts['strangers_suggested']}"
    )


def cv_groups(analysed, truth, everyone, folds, gaps):
    """The group photos under each fold's calibration: known faces of its held-out identities;
    every stranger face under every fold (marked if any fold marks it, suggested if any
    suggests it and none marks it)."""
    total, marked, suggested = {}, set(), set()
    for held_out, calibration, _ in folds:
        counts, m, s = group_tiers(analysed, truth, everyone, calibration, only=set(held_out), gaps=gaps)
        add(total, counts)
        marked |= m
        suggested |= s
    strangers = sum(who is None for whos, _ in truth.values() for who in whos)
    total.update(strangers=strangers, strangers_marked=len(marked), strangers_suggested=len(suggested - marked))
    return total


def cv_identities(people, views, enrolments, folds, gaps):
    total = {}
    for held_out, calibration, _ in folds:
        add(total, identity_tiers(people, views, enrolments, held_out, held_out, calibration, gaps))
    return total


def print_bands(calibration, gaps=None):
    print(
        "| band: face px | gallery px | mark | few photos | suggest | margin | person: mark | "
        "person: few photos | person: margin | gap (held out) | person gap |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    starts = sorted({band.point.min_face_px for band in calibration.bands})
    for index, band in enumerate(calibration.bands):
        p, q = band.point, band.person_point
        larger = [s for s in starts if s > p.min_face_px]
        size = f"{p.min_face_px:.0f}-{larger[0]:.0f}" if larger else f"{p.min_face_px:.0f}+"
        single = f"{gaps.single[index]:.3f}" if gaps and index in gaps.single else "-"
        person = f"{gaps.person[index]:.3f}" if gaps and index in gaps.person else "-"
        print(
            f"| {size} | {band.gallery_px or 'as is'} | {p.mark_distance} | {p.few_photos_mark_distance} | "
            f"{p.suggest_distance} | {p.roster_margin} | {q.mark_distance} | {q.few_photos_mark_distance} | "
            f"{q.roster_margin} | {single} | {person} |"
        )


def median_face(analysed, truth):
    sizes = [q.size_px for name, (_, qualities) in analysed.items() for q, who in zip(qualities, truth[name][0]) if who]
    return float(np.median(sizes)) if sizes else float("nan")


def classroom_row(title, size, counts):
    known = counts["known"] or 1
    print(
        f"| {title} | {size} | {counts['known']} | {counts['marked_right']} ({counts['marked_right'] / known:.0%}) | "
        f"{counts['marked_wrong']} | {counts['suggested_right']} | {counts['suggested_wrong']} | {counts['missed']} | "
        f"{(counts['marked_right'] + counts['suggested_right']) / known:.0%} | {counts['strangers']} | "
        f"{counts['strangers_marked']} | {counts['strangers_suggested']} |"
    )


def classroom_table(
    dataset, people, probes, qualities, table, enrolments, analysed, box_truth, folds, detector, embedder, cache
):
    """The classroom-distance table, held out: identity probes as taken and shrunk to each table
    size, and the group photos as taken and shrunk to each scale (JPEG GROUP_JPEG), enrolment
    photos at full size (and their shrunk copies, as the worker keeps them)."""
    gaps, rows = Gaps(), {}
    print(f"\n## 9. Classroom distance, held out ({len(folds)} folds over identities; enrolment photos full size)")
    print(
        "| faces | median px | known | marked right | marked wrong | suggested right | suggested wrong | unknown | marked or suggested | strangers | strangers marked | strangers suggested |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    as_taken = {
        path: [(probes[path], qualities[path]) if probes[path] is not None else None]
        for ps in people.values()
        for path in ps
    }
    rows["identities as taken"] = cv_identities(people, as_taken, enrolments, folds, gaps)
    sizes = [q.size_px for q in qualities.values() if q is not None]
    classroom_row("identity photos as taken", f"{np.median(sizes):.0f}", rows["identities as taken"])
    for size in TABLE_SIZES:
        views = {path: by_size[size] for path, by_size in table.items() if size in by_size}
        rows[f"identities {size} px"] = counts = cv_identities(people, views, enrolments, folds, gaps)
        classroom_row(f"identity photos at {size} px (JPEG 50-90, blur)", size, counts)
    everyone = enrolment_rows(people, enrolments, people)
    for scale in (1.0, *GROUP_SCALES):
        if scale == 1.0:
            at_scale = analysed
        else:
            at_scale = {
                name: cache.get(
                    ("group", name, scale, GROUP_JPEG),
                    degraded_photo,
                    dataset / name,
                    scale,
                    GROUP_JPEG,
                    0.0,
                    detector,
                    embedder,
                )
                for name in analysed
            }
        truth = group_truth(dataset, at_scale, scale)
        title = "group photos as taken" if scale == 1.0 else f"group photos x{scale} (JPEG {GROUP_JPEG})"
        rows[title] = counts = cv_groups(at_scale, truth, everyone, folds, gaps)
        classroom_row(title, f"{median_face(at_scale, truth):.0f}", counts)
    cache.save()
    return rows, gaps


def degraded_photo(path, scale, jpeg_quality, blur, detector, embedder):
    return analyse_degraded(np.asarray(load_image(path)), scale, jpeg_quality, blur, detector, embedder)


def gallery_at_size_gain(people, samples, enrolments, table, room, classroom, room_identities):
    """What meeting a small face with the enrolment photos shrunk to its size gains, held out: the
    same folds calibrated with every band compared with the photos as they are, scored on the
    same views."""
    as_they_are = tuple((start, 0) for start, _ in BAND_LAYOUT)
    folds = cross_validated(samples, enrolment_list(people, enrolments, people), identity_folds(people), as_they_are)
    print("\n## 12. What the gallery at the face's size gains, held out: marked right (wrong, strangers marked)")
    print("| faces | gallery at the face's size | enrolment photos as they are |")
    print("|---|---|---|")
    gain = {}
    for size in TABLE_SIZES:
        views = {path: by_size[size] for path, by_size in table.items() if size in by_size}
        flat = cv_identities(people, views, enrolments, folds, Gaps())
        sized = classroom[f"identities {size} px"]
        gain[f"identities {size} px"] = {"sized": sized["marked_right"], "as_they_are": flat["marked_right"]}
        print(
            f"| identity photos at {size} px | {sized['marked_right']}/{sized['known']} ({sized['marked_wrong']}, "
            f"{sized['strangers_marked']}) | {flat['marked_right']}/{flat['known']} ({flat['marked_wrong']}, "
            f"{flat['strangers_marked']}) |"
        )
    flat_room = identity_room_camera(people, room, enrolments, folds, Gaps(), quiet=True)
    for n in (1, 3, 5):
        sized, flat = room_identities[n - 1], flat_room[n - 1]
        gain[f"room camera, {n} snapshots"] = {"sized": sized["marked_right"], "as_they_are": flat["marked_right"]}
        print(
            f"| identity photos, {n} room-camera snapshots | {sized['marked_right']}/{sized['known']} "
            f"({sized['marked_wrong']}, {sized['strangers_marked']}) | {flat['marked_right']}/{flat['known']} "
            f"({flat['marked_wrong']}, {flat['strangers_marked']}) |"
        )
    return gain


def room_camera(dataset, box_truth, enrolments, people, folds, detector, embedder, cache, gaps):
    """Each group photo as a room camera sees it: ROOM_VIEWS snapshots, each shrunk so its median
    whole face is ROOM_FACE_PX (x0.9-1.0), JPEG 50-90, blur, sent to one session. Each
    person's faces so far (grouped by the hand-checked boxes) are decided together
    (decide_people): a known person under their fold's calibration, a stranger under every fold's.

    The product decides the same: its worker calls decide_people on each person of the session
    as it gains a face (recognition/people.py: mark_people_by_their_views). It differs only where
    this cannot see it: the product groups faces by their descriptors, not by labelled boxes
    (tests/recognition/test_room_camera.py checks that each student of a snapshot series is one
    person), keeps a face's own mark where this counts only the person's decision (so it marks
    at least as many), and runs under the calibration of every identity, not one that held the
    person out. These figures are the product's, held out, but for faces marked on their own."""
    labelled = labelled_boxes(dataset)
    everyone = enrolment_rows(people, enrolments, people)
    fold_of = {person: k for k, (held_out, _, _) in enumerate(folds) for person in held_out}
    seen = defaultdict(list)  # (photo, box index) -> [(vector, quality)]
    identity = {}
    snapshots = []
    for name, boxes in box_truth.items():
        image = np.asarray(load_image(dataset / name))
        height, width = image.shape[:2]
        counted = [b for b, label in boxes if label == "face"]
        median = median_whole_face(boxes, width, height)
        for k, box in enumerate(counted):
            who = max(((iou(box, lb), w) for lb, w in labelled[name]), default=(0.0, "unknown"))
            identity[(name, k)] = who[1] if who[0] >= IOU_MATCH and who[1] != "unknown" else None
        for v in range(ROOM_VIEWS):
            scale, quality, blur = room_snapshot(name, v, median)
            faces, qualities = cache.get(
                ("room", name, v, round(scale, 5), quality, round(blur, 5)),
                degraded_photo,
                dataset / name,
                scale,
                quality,
                blur,
                detector,
                embedder,
            )
            scaled = [tuple(c * scale for c in b) for b in counted]
            for face, face_quality in zip(faces, qualities):
                best = max(range(len(scaled)), key=lambda i: iou(face.box, scaled[i]), default=None)
                if best is not None and iou(face.box, scaled[best]) >= IOU_MATCH:
                    snapshots.append((v, (name, best), face.embedding, face_quality))
    cache.save()
    print(
        f"\n## 10. Room camera, held out: {ROOM_VIEWS} snapshots of each group photo to one session (median whole face "
        f"{ROOM_SCALE_JITTER * ROOM_FACE_PX:.0f}-{ROOM_FACE_PX} px, hand-labelled box), each person's faces so far "
        "decided together (decide_people; faces grouped by the hand-checked boxes)"
    )
    known_people = sorted(key for key, who in identity.items() if who)
    print(
        "| snapshots | known | marked right | marked wrong | suggested right | unknown | strangers seen | strangers marked | strangers suggested | marked |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    after = []
    for v in range(ROOM_VIEWS):
        for snap_view, key, vector, face_quality in snapshots:
            if snap_view == v:
                seen[key].append((vector, face_quality))
        keys = sorted(seen)
        decisions = [{} for _ in folds]  # per fold: person -> decision, each photo its own session
        for photo in sorted({name for name, _ in keys}):
            session = [key for key in keys if key[0] == photo]
            views = [(np.stack([x for x, _ in seen[key]]), [q for _, q in seen[key]]) for key in session]
            for fold_decisions, (_, calibration, _) in zip(decisions, folds):
                fold_decisions.update(zip(session, decide_people(views, everyone, None, calibration)))
        counts = dict.fromkeys(TIER_KEYS, 0)
        names = []
        for key in known_people:
            who = identity[key]
            d = decisions[fold_of[who]].get(key)
            tally(counts, d, who)
            if d is not None and d.kind == MARK:
                names.append(f"{who}{'' if d.student == who else ' (WRONG: ' + str(d.student) + ')'}")
            if d is not None and d.student != who:
                gaps.note(folds[fold_of[who]][1], _typical(seen[key]), d, person_level=len(seen[key]) > 1)
        for key in keys:
            if identity[key] is None:
                kinds = [fold_decisions[key].kind for fold_decisions in decisions]
                counts["strangers"] += 1
                counts["strangers_marked"] += MARK in kinds
                counts["strangers_suggested"] += MARK not in kinds and SUGGEST in kinds
                for (_, calibration, _), fold_decisions in zip(folds, decisions):
                    gaps.note(calibration, _typical(seen[key]), fold_decisions[key], person_level=len(seen[key]) > 1)
        after.append(counts)
        print(
            f"| {v + 1} | {counts['known']} | {counts['marked_right']} ({counts['marked_right'] / max(counts['known'], 1):.0%}) | "
            f"{counts['marked_wrong']} | {counts['suggested_right']} | {counts['missed']} | {counts['strangers']} | "
            f"{counts['strangers_marked']} | {counts['strangers_suggested']} | {', '.join(names) or '-'} |"
        )
    return after


def identity_room_camera(people, room, enrolments, folds, gaps, quiet=False):
    """Each identity photo as ROOM_VIEWS room-camera snapshots of one person at ROOM_IDENTITY_PX,
    held out: after n snapshots the person's n faces are decided together (decide_person), as a
    known student (their course as roster, the school without that photo) and as a stranger (left
    out of the school, against their former course)."""
    course = course_of(people)
    galleries = {path: enrolment_rows(people, enrolments, people, leave_out=path) for path in room}
    without = {person: enrolment_rows(people, enrolments, [p for p in people if p != person]) for person in people}
    say = (lambda *_: None) if quiet else print
    say(
        f"\n## 10b. Room camera on the identity photos, held out: each photo {ROOM_VIEWS} snapshots at "
        f"{ROOM_IDENTITY_PX[0]}-{ROOM_IDENTITY_PX[1]} px (detector's box; JPEG 50-90, blur), one person each"
    )
    say(
        "| snapshots | known | marked right | marked wrong | suggested right | suggested wrong | unknown | strangers | strangers marked | strangers suggested |"
    )
    say("|---|---|---|---|---|---|---|---|---|---|")
    after = []
    for n in range(1, ROOM_VIEWS + 1):
        counts = dict.fromkeys(TIER_KEYS, 0)
        for held_out, calibration, _ in folds:
            for person in held_out:
                roster = [p for p in people if course[p] == course[person]]
                former = [p for p in roster if p != person]
                for path in people[person]:
                    views = [v for v in room.get(path, [])[:n] if v is not None]
                    if path in room and not views:
                        tally(counts, None, person)
                    if not views:
                        continue
                    vectors, qualities = np.stack([v[0] for v in views]), [v[1] for v in views]
                    d = decide_person(vectors, qualities, galleries[path], roster, calibration)
                    tally(counts, d, person)
                    stranger = decide_person(vectors, qualities, without[person], former, calibration)
                    tally(counts, stranger, None)
                    for decision in (stranger, *([d] if d.student != person else [])):
                        gaps.note(calibration, typical_quality(qualities), decision, person_level=n > 1)
        after.append(counts)
        known = max(counts["known"], 1)
        say(
            f"| {n} | {counts['known']} | {counts['marked_right']} ({counts['marked_right'] / known:.0%}) | "
            f"{counts['marked_wrong']} | {counts['suggested_right']} | {counts['suggested_wrong']} | {counts['missed']} | "
            f"{counts['strangers']} | {counts['strangers_marked']} | {counts['strangers_suggested']} |"
        )
    return after


def _typical(views):
    """The quality decide_people judges a person's views by."""
    return typical_quality([q for _, q in views])


def cross_validate(people, probes, enrolments, qualities, analysed, truth, folds):
    """FOLDS folds over identities: calibrate on the others, score the held-out identities as
    known faces and as strangers, and their faces in the group photos."""
    ident_total, records = {}, []
    gaps = Gaps()
    as_taken = {
        path: [(probes[path], qualities[path]) if probes[path] is not None else None]
        for ps in people.values()
        for path in ps
    }
    everyone = enrolment_rows(people, enrolments, people)
    print(
        f"\n## 7. Cross-validation, {len(folds)} folds over identities ({COURSES} courses, one school), photos as taken"
    )
    print(
        "| fold | held out | mark (largest faces) | few photos | suggest | margin | gap to the nearest impostor (held out) |"
    )
    print("|---|---|---|---|---|---|---|")
    for k, (held_out, calibration, _) in enumerate(folds):
        fold_gaps = Gaps()
        counts = identity_tiers(people, as_taken, enrolments, held_out, held_out, calibration, fold_gaps)
        add(ident_total, counts)
        group_tiers(analysed, truth, everyone, calibration, only=set(held_out), gaps=fold_gaps)
        gaps.merge(fold_gaps)
        point = calibration.base
        gap = min(fold_gaps.single.values())
        records.append(
            {
                "held_out": sorted(held_out),
                "bands": [
                    {"mark_distance": b.point.mark_distance, "person_mark_distance": b.person_point.mark_distance}
                    for b in calibration.bands
                ],
                "gap": round(gap, 4),
                **counts,
            }
        )
        print(
            f"| {k} | {', '.join(sorted(held_out))} | {point.mark_distance} | {point.few_photos_mark_distance} | "
            f"{point.suggest_distance} | {point.roster_margin} | {gap:.3f} |"
        )
    group_total = cv_groups(analysed, truth, everyone, folds, gaps)
    print_tiers("identity probes, held out", ident_total)
    print_tiers("group photos, held out (a stranger counts as marked if any fold's rules mark it)", group_total)
    return ident_total, group_total, records


def tiers_full_set(people, probes, enrolments, qualities, analysed, truth, calibration):
    errors = []
    as_taken = {
        path: [(probes[path], qualities[path]) if probes[path] is not None else None]
        for ps in people.values()
        for path in ps
    }
    ident = identity_tiers(people, as_taken, enrolments, people, people, calibration, errors=errors)
    group_errors = []
    group, _, _ = group_tiers(
        analysed, truth, enrolment_rows(people, enrolments, people), calibration, errors=group_errors
    )
    print(f"\n## 8. Tiers on the full set, calibrated on all {len(people)} identities")
    print_tiers("identity probes", ident)
    for line in errors:
        print("   ", line)
    print_tiers("group photos", group)
    for line in group_errors:
        print("   ", line)
    return ident, group


# ---------------------------------------------------------------- the peer


def bench_peer(dataset, truth, people, strangers):
    import face_recognition

    out = {}
    for upsample in (1, 2):
        found = false = dup = counted = 0
        seconds = encode_seconds = 0.0
        for name, boxes in truth.items():
            pixels = face_recognition.load_image_file(dataset / name)
            start = time.perf_counter()
            locations = face_recognition.face_locations(pixels, number_of_times_to_upsample=upsample, model="hog")
            detected = time.perf_counter()
            face_recognition.face_encodings(pixels, locations)
            seconds += detected - start
            encode_seconds += time.perf_counter() - detected
            dets = [((left, top, right, bottom), 1.0) for top, right, bottom, left in locations]
            f, fa, d, c = score_detections(dets, boxes)
            found, false, dup, counted = found + f, false + fa, dup + d, counted + c
        out[upsample] = {
            "found": found,
            "false": false,
            "dup": dup,
            "counted": counted,
            "seconds": seconds,
            "encode_seconds": encode_seconds,
        }
        print(
            f"peer HOG upsample {upsample}: found {found}/{counted}, false {false}, dup {dup}; "
            f"detect {seconds:.2f} s + encode {encode_seconds:.2f} s = {seconds + encode_seconds:.2f} s (1 run)"
        )

    probes = {}
    for paths in people.values():
        for path in paths:
            pixels = face_recognition.load_image_file(path)
            locations = face_recognition.face_locations(pixels)
            if not locations:
                probes[path] = None
                continue
            largest = max(locations, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            probes[path] = face_recognition.face_encodings(pixels, [largest])[0]
    enrolments = {p: (v if v is not None else "no face") for p, v in probes.items()}

    def peer_decide(vectors, gallery):
        """face_recognition's rule on its raw (unnormalised) vectors: the nearest enrolled face
        within the tolerance. Not decide(): the Gallery normalises rows, and 0.6 is a raw distance."""
        rows, labels = gallery
        out = []
        for vector in vectors:
            distances = np.linalg.norm(rows - vector, axis=1)
            nearest = labels[int(distances.argmin())]
            out.append((nearest if distances.min() <= PEER_TOLERANCE else None, nearest))
        return out

    ident = closed_and_open_set(
        people, probes, enrolments, peer_decide, "peer face_recognition, HOG up1, tolerance 0.6 raw"
    )
    assert ident["strangers"] == strangers
    return out, ident


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--embedder", choices=("dlib", "facenet"), default="dlib")
    parser.add_argument("--facenet-weights", default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="Do not write the calibration file.")
    args = parser.parse_args(argv)

    configure_threads(args.threads)
    detector = FaceDetector()
    embedder = load_embedder(args.embedder, facenet_weights=args.facenet_weights)
    print(f"# Face engine evaluation: {args.dataset}\nembedder {embedder.name}, threads {args.threads}")

    truth = read_boxes(args.dataset)
    group, per_photo, analysed = bench_group_ours(args.dataset, truth, detector, embedder, args.repeats)

    people = identity_images(args.dataset)
    cache = Cache(embedder.name, args.dataset.name)
    probes, enrolments, qualities, boxes = embed_identities_ours(people, detector, embedder, cache)
    series, table, room_views = degraded_views(people, boxes, detector, embedder, cache)
    samples = calibration_samples(people, probes, qualities, series)
    calibration, evidence = calibrate(samples, enrolment_list(people, enrolments, people))
    print(
        f"\ncalibration (all identities, {len(samples)} faces: the photos and {SERIES_VIEWS} degraded views per band):"
    )
    print_bands(calibration)

    def ours(vectors, gallery):
        return [(d.marked_student, d.student) for d in decide(vectors, Gallery(*gallery), None, None, calibration)]

    ident = closed_and_open_set(people, probes, enrolments, ours, f"ours, {embedder.name}, one enrolment photo each")
    sweep_points = (
        [round(x, 2) for x in np.arange(0.30, 0.62, 0.02)]
        if embedder.name.startswith("dlib")
        else [round(x, 2) for x in np.arange(0.7, 1.32, 0.05)]
    )
    threshold_sweep(people, probes, enrolments, ident["strangers"], sweep_points, calibration.base.mark_distance)

    faces_truth = group_truth(args.dataset, analysed)
    folds = cross_validated(samples, enrolment_list(people, enrolments, people), identity_folds(people))
    cv_ident, cv_group, fold_records = cross_validate(
        people, probes, enrolments, qualities, analysed, faces_truth, folds
    )
    full_ident, full_group = tiers_full_set(people, probes, enrolments, qualities, analysed, faces_truth, calibration)
    classroom, gaps = classroom_table(
        args.dataset, people, probes, qualities, table, enrolments, analysed, truth, folds, detector, embedder, cache
    )
    room = room_camera(args.dataset, truth, enrolments, people, folds, detector, embedder, cache, gaps)
    room_identities = identity_room_camera(people, room_views, enrolments, folds, gaps)
    print("\n## 11. Rules per band (all identities) and the gap from each band's auto-mark distance to the nearest")
    print("impostor or stranger it decided, held out (single faces: sections 7 and 9; persons: section 10)")
    print_bands(calibration, gaps)
    gain = gallery_at_size_gain(people, samples, enrolments, table, room_views, classroom, room_identities)
    single_gaps = {str(k): round(v, 4) for k, v in sorted(gaps.single.items())}
    person_gaps = {str(k): round(v, 4) for k, v in sorted(gaps.person.items())}

    summary = {
        "embedder": embedder.name,
        "bands": [
            {
                "gallery_px": b.gallery_px,
                "point": dataclasses.asdict(b.point),
                "person_point": dataclasses.asdict(b.person_point),
            }
            for b in calibration.bands
        ],
        "group_found": int(group["found"]),
        "group_false_boxes": int(group["false"]),
        "group_duplicate_boxes": int(group["dup"]),
        "group_counted": int(group["counted"]),
        "group_seconds": round(group["seconds"], 2),
        "group_detect_seconds": round(group["detect_s"], 2),
        "group_embed_seconds": round(group["embed_s"], 2),
        "group_quality_seconds": round(group["quality_s"], 3),
        "rank1_correct": ident["rank1_correct"],
        "rank1_total": ident["rank1_total"],
        "accepted_right": ident["accepted_right"],
        "accepted_wrong": ident["accepted_wrong"],
        "rejected_unknown": ident["rejected"],
        "strangers": ident["strangers"],
        "strangers_accepted": ident["strangers_accepted"],
        "strangers_total": ident["strangers_total"],
        "attendance_students": full_group["known"],
        "attendance_correct": full_group["marked_right"],
        "attendance_wrong": full_group["marked_wrong"],
        "attendance_missed": full_group["known"] - full_group["marked_right"] - full_group["marked_wrong"],
        "attendance_strangers_marked": full_group["strangers_marked"],
        "cv_identity": cv_ident,
        "cv_group": cv_group,
        "full_identity": full_ident,
        "full_group": full_group,
        "cv_min_gap_mark_to_nearest_impostor": min(f["gap"] for f in fold_records),
        "classroom": classroom,
        "room_camera": room,
        "room_camera_identities": room_identities,
        "gallery_at_size_gain": gain,
        "gap_per_band": single_gaps,
        "person_gap_per_band": person_gaps,
    }
    if not args.no_write:
        evidence.update(
            dataset=args.dataset.name,
            rules=" ".join(calibration_module.__doc__.split("\n\n")[1].split()),
            protocol=" ".join(cross_validate.__doc__.split()),
            folds=fold_records,
            cross_validated={"identity": cv_ident, "group": cv_group},
            full_set={"identity": full_ident, "group": full_group},
            classroom=classroom,
            room_camera={"group_photos": room, "identity_photos": room_identities},
            gap_to_first_false_mark_held_out={"single": single_gaps, "person": person_gaps},
        )
        print(f"calibration written to {write_calibration(embedder.name, calibration, evidence)}")
    if not args.no_peer:
        print("\n## 4. Peer: face_recognition 1.3.0 (dlib HOG + ResNet)")
        peer, peer_ident = bench_peer(args.dataset, truth, people, ident["strangers"])
        summary.update(
            peer_group_found_up1=peer[1]["found"],
            peer_group_false_boxes_up1=peer[1]["false"],
            peer_group_seconds_up1=round(peer[1]["seconds"], 2),
            peer_group_found_up2=peer[2]["found"],
            peer_group_false_boxes_up2=peer[2]["false"],
            peer_group_seconds_up2=round(peer[2]["seconds"], 2),
            peer_group_seconds_up2_with_encode=round(peer[2]["seconds"] + peer[2]["encode_seconds"], 2),
            peer_rank1_correct=peer_ident["rank1_correct"],
            peer_accepted_wrong=peer_ident["accepted_wrong"],
            peer_strangers_accepted=peer_ident["strangers_accepted"],
        )
    line = json.dumps(summary)
    if args.json:
        args.json.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
