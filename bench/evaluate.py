"""Evaluate the face engine on a labelled face dataset, beside face_recognition (the peer).

    python bench/evaluate.py DATASET_DIR [--embedder dlib|facenet] [--json OUT] [--no-write]

Calls only recognition.engine functions for our pipeline (no Django), so the
numbers are what the worker does. Calibrates the operating point of match.decide()
with identities held out (k-fold over identities) and writes it, with its evidence, to
recognition/engine/calibrations/<model>.json. The last stdout line is one JSON object.
See bench/README.md for what each number means.
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

from recognition.engine.calibration import single_threshold, write_calibration  # noqa: E402
from recognition.engine.detect import FaceDetector  # noqa: E402
from recognition.engine.embedders import load_embedder  # noqa: E402
from recognition.engine.images import load_image  # noqa: E402
from recognition.engine.match import MARK, SUGGEST, Gallery, OperatingPoint, decide  # noqa: E402
from recognition.engine.pipeline import MIN_ENROLMENT_FACE_PX, EnrolmentRejected, analyse_photo, choose_enrolment_face  # noqa: E402
from recognition.engine.quality import face_qualities  # noqa: E402
from recognition.engine.threads import configure_threads  # noqa: E402

IOU_MATCH = 0.4
PEER_TOLERANCE = 0.6  # face_recognition's documented default
N_STRANGERS = 3


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


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


def embed_identities_ours(people, detector, embedder):
    """Per image: embedding and quality of the largest face (or None), and the enrolment
    embedding embed_enrolment_photo() would give (or its refusal reason)."""
    probes, enrolments, qualities = {}, {}, {}
    for paths in people.values():
        for path in paths:
            pixels = np.asarray(load_image(path))
            faces = analyse_photo(pixels, detector, embedder)
            largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), default=None)
            probes[path] = None if largest is None else largest.embedding
            qualities[path] = None if largest is None else face_qualities(pixels, [largest])[0]
            try:
                # = embed_enrolment_photo(), reusing the detection and embedding above
                enrolments[path] = choose_enrolment_face(faces).embedding
            except EnrolmentRejected as exc:
                enrolments[path] = str(exc)
    return probes, enrolments, qualities


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
FOLDS = 5  # k-fold over identities: an operating point never sees the people it is scored on
# What the operating point promises, before looking at any held-out face:
# - auto-mark: at most 1 stranger face in 1,000 auto-marked against a 30-student roster, i.e. a
#   false-accept rate of 1/30,000 per face-to-student comparison, read off a normal fitted to the
#   impostor distances (its tail is heavier than the dev set's: the fit is the cautious side);
# - a student with fewer than FEW_PHOTOS distinct photos: ten times stricter, because one or two
#   photos say nothing of how that student varies (nothing to tell "unusual shot of her" from
#   "someone like her");
# - a suggestion up to the equal-error point of the fitted genuine and impostor distributions:
#   beyond it a face is likelier anyone else than the student;
# - margins: the next student (roster or school) at least one impostor standard deviation farther;
# - quality: a face smaller than the enrolment minimum, or blurrier / more turned than 99% of the
#   faces the distances were measured on, is outside what was calibrated: suggested, not marked.
MARK_FALSE_ACCEPT = 1 / 30_000
FEW_PHOTOS = 3
FEW_PHOTOS_FALSE_ACCEPT = MARK_FALSE_ACCEPT / 10
QUALITY_PERCENTILE = 0


def course_of(people):
    return {person: i % COURSES for i, person in enumerate(sorted(people))}


def enrolment_rows(people, enrolments, persons, leave_out=None):
    rows = [
        (p, enrolments[path])
        for p in persons
        for path in people[p]
        if path != leave_out and not isinstance(enrolments[path], str)
    ]
    return Gallery([v for _, v in rows], [p for p, _ in rows])


def calibrate(people, probes, enrolments, qualities, persons):
    """OperatingPoint from these identities only, and the fitted figures behind it."""
    genuine, impostor = [], []
    for person in persons:
        for path in people[person]:
            if probes[path] is None:
                continue
            gallery = enrolment_rows(people, enrolments, persons, leave_out=path)
            row = gallery.student_distances(probes[path][None])[0]
            for student, distance in zip(gallery.students, row):
                (genuine if student == person else impostor).append(float(distance))
    g, i = statistics.NormalDist.from_samples(genuine), statistics.NormalDist.from_samples(impostor)
    z = statistics.NormalDist().inv_cdf
    faces = [qualities[path] for p in persons for path in people[p] if qualities[path] is not None]
    point = OperatingPoint(
        mark_distance=round(i.mean + z(MARK_FALSE_ACCEPT) * i.stdev, 3),
        few_photos=FEW_PHOTOS,
        few_photos_mark_distance=round(i.mean + z(FEW_PHOTOS_FALSE_ACCEPT) * i.stdev, 3),
        suggest_distance=round((g.mean * i.stdev + i.mean * g.stdev) / (g.stdev + i.stdev), 3),
        roster_margin=round(i.stdev, 3),
        school_margin=round(i.stdev, 3),
        min_face_px=float(MIN_ENROLMENT_FACE_PX),
        min_sharpness=round(float(np.percentile([q.sharpness for q in faces], QUALITY_PERCENTILE)), 1),
        max_yaw=round(float(np.percentile([q.yaw for q in faces], 100 - QUALITY_PERCENTILE)), 3),
    )
    fitted = {
        "genuine_mean": round(g.mean, 4),
        "genuine_sd": round(g.stdev, 4),
        "genuine_max": round(max(genuine), 4),
        "impostor_mean": round(i.mean, 4),
        "impostor_sd": round(i.stdev, 4),
        "impostor_min": round(min(impostor), 4),
        "genuine_n": len(genuine),
        "impostor_n": len(impostor),
    }
    return point, fitted


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


def identity_tiers(people, probes, enrolments, qualities, known, strangers, point, errors=None):
    """Identity probes as captures of a school where everyone in `people` is enrolled and split
    into courses. A known face (each image of `known`) is matched against every other enrolment
    photo, its course as roster; a stranger (each person of `strangers`) is left out of the
    school and each of their images is matched against their former course."""
    counts = dict.fromkeys(TIER_KEYS, 0)
    nearest_impostor = float("inf")
    course = course_of(people)
    for person in known:
        for path in people[person]:
            gallery = enrolment_rows(people, enrolments, people, leave_out=path)
            roster = [p for p in people if course[p] == course[person]]
            d = (
                decide(probes[path][None], gallery, roster, [qualities[path]], point)[0]
                if probes[path] is not None
                else None
            )
            tally(counts, d, person)
            if d is not None and d.student != person:
                nearest_impostor = min(nearest_impostor, d.distance)
            if errors is not None and (d is None or d.kind != MARK or d.student != person):
                errors.append(
                    f"{path.parent.name}/{path.name}: {d.kind if d else 'no face'} {d.student if d else ''} "
                    f"{d.distance if d else '':.3} ({d.reason if d else ''})"
                )
    for person in strangers:
        school = [p for p in people if p != person]
        gallery = enrolment_rows(people, enrolments, school)
        roster = [p for p in school if course[p] == course[person]]
        for path in people[person]:
            if probes[path] is None:
                continue
            d = decide(probes[path][None], gallery, roster, [qualities[path]], point)[0]
            tally(counts, d, None)
            nearest_impostor = min(nearest_impostor, d.distance)
    return counts, nearest_impostor


def group_truth(dataset, analysed):
    """For each detected face of each group photo: the identity it is, or None (a stranger):
    faces of photos group_identities.csv does not list are all people outside the set."""
    labelled = defaultdict(list)
    with open(dataset / "group_identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            labelled[row["file"]].append(
                ((float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])), row["identity"])
            )
    out = {}
    for name, (result, _) in analysed.items():
        whos = []
        for face in result:
            best_iou, who = max(((iou(face.box, box), who) for box, who in labelled[name]), default=(0.0, "unknown"))
            whos.append(who if best_iou >= IOU_MATCH and who != "unknown" else None)
        undetected = [
            who
            for box, who in labelled[name]
            if who != "unknown" and not any(iou(face.box, box) >= IOU_MATCH for face in result)
        ]
        out[name] = (whos, undetected)
    return out


def group_tiers(analysed, truth, gallery, point, only=None, errors=None):
    """Each group photo as a capture of one course holding every enrolled identity.
    only: count known faces of these identities only (their fold); strangers always count."""
    counts = dict.fromkeys(TIER_KEYS, 0)
    marked_strangers = set()
    for name, (result, qualities) in analysed.items():
        whos, undetected = truth[name]
        vectors = np.stack([f.embedding for f in result]) if len(result) else np.zeros((0, gallery.embeddings.shape[1]))
        decisions = decide(vectors, gallery, None, qualities, point)
        for k, (d, who) in enumerate(zip(decisions, whos)):
            if who is None or only is None or who in only:
                tally(counts, d, who)
            if who is None and d.kind == MARK:
                marked_strangers.add((name, k))
            if errors is not None and d.kind != ("unknown" if who is None else MARK):
                errors.append(
                    f"{Path(name).name} face {k} ({who or 'stranger'}): {d.kind} {d.student} {d.distance:.3f} ({d.reason})"
                )
        for who in undetected:
            if only is None or who in only:
                tally(counts, None, who)
    return counts, marked_strangers


def add(total, counts):
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value


def print_tiers(title, counts):
    print(
        f"{title}: known {counts['known']}: auto-marked right {counts['marked_right']}, wrong {counts['marked_wrong']}; "
        f"suggested right {counts['suggested_right']}, wrong {counts['suggested_wrong']}; missed {counts['missed']} | "
        f"strangers {counts['strangers']}: auto-marked {counts['strangers_marked']}, suggested {counts['strangers_suggested']}"
    )


def cross_validate(people, probes, enrolments, qualities, analysed, truth):
    """FOLDS folds over identities: calibrate on the others, score the held-out identities as
    known faces and as strangers, and their faces in the group photos."""
    persons = sorted(people)
    random.Random(0).shuffle(persons)
    folds = [persons[k::FOLDS] for k in range(FOLDS)]
    ident_total, group_total, records = {}, {}, []
    group_strangers_marked = set()
    everyone = enrolment_rows(people, enrolments, people)
    print(f"\n## 7. Cross-validation, {FOLDS} folds over identities ({COURSES} courses, one school)")
    print("| fold | held out | mark | few photos | suggest | margin | nearest impostor (held out) | gap |")
    print("|---|---|---|---|---|---|---|---|")
    for k, held_out in enumerate(folds):
        train = [p for p in persons if p not in held_out]
        point, _ = calibrate(people, probes, enrolments, qualities, train)
        counts, nearest = identity_tiers(people, probes, enrolments, qualities, held_out, held_out, point)
        add(ident_total, counts)
        g_counts, marked = group_tiers(analysed, truth, everyone, point, only=set(held_out))
        g_counts.update(strangers=0, strangers_marked=0, strangers_suggested=0)  # counted once below
        add(group_total, g_counts)
        group_strangers_marked |= marked
        gap = nearest - point.mark_distance
        records.append(
            {
                "held_out": sorted(held_out),
                "mark_distance": point.mark_distance,
                "few_photos_mark_distance": point.few_photos_mark_distance,
                "suggest_distance": point.suggest_distance,
                "margin": point.roster_margin,
                "nearest_impostor_held_out": round(nearest, 4),
                "gap": round(gap, 4),
                **counts,
            }
        )
        print(
            f"| {k} | {', '.join(sorted(held_out))} | {point.mark_distance} | {point.few_photos_mark_distance} | "
            f"{point.suggest_distance} | {point.roster_margin} | {nearest:.3f} | {gap:.3f} |"
        )
    # A group-photo stranger is nobody's identity, so every fold's point scores it: it counts as
    # auto-marked if any fold's point marks it.
    strangers = sum(who is None for whos, _ in truth.values() for who in whos)  # detected faces of strangers
    group_total.update(strangers=strangers, strangers_marked=len(group_strangers_marked), strangers_suggested=None)
    print_tiers("identity probes, held out", ident_total)
    print(
        f"group photos, held out: known {group_total['known']}: auto-marked right {group_total['marked_right']}, "
        f"wrong {group_total['marked_wrong']}; suggested right {group_total['suggested_right']}, wrong "
        f"{group_total['suggested_wrong']}; missed {group_total['missed']} | strangers {strangers}: auto-marked "
        f"under any fold's point {len(group_strangers_marked)}"
    )
    return ident_total, group_total, records


def tiers_full_set(people, probes, enrolments, qualities, analysed, truth, point):
    errors = []
    ident, nearest = identity_tiers(people, probes, enrolments, qualities, people, people, point, errors)
    group_errors = []
    group, _ = group_tiers(analysed, truth, enrolment_rows(people, enrolments, people), point, errors=group_errors)
    print(f"\n## 8. Tiers on the full set, operating point calibrated on all {len(people)} identities")
    print_tiers("identity probes", ident)
    for line in errors:
        print("   ", line)
    print_tiers("group photos", group)
    for line in group_errors:
        print("   ", line)
    print(
        f"nearest impostor or stranger to an auto-mark candidate: {nearest:.3f} (mark distance {point.mark_distance})"
    )
    return ident, group, nearest


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
    probes, enrolments, qualities = embed_identities_ours(people, detector, embedder)
    point, fitted = calibrate(people, probes, enrolments, qualities, sorted(people))
    print(f"\noperating point (all identities): {point}\nfitted distances: {fitted}")

    def ours(vectors, gallery):
        return [(d.marked_student, d.student) for d in decide(vectors, Gallery(*gallery), None, None, point)]

    ident = closed_and_open_set(people, probes, enrolments, ours, f"ours, {embedder.name}, one enrolment photo each")
    sweep_points = (
        [round(x, 2) for x in np.arange(0.30, 0.62, 0.02)]
        if embedder.name.startswith("dlib")
        else [round(x, 2) for x in np.arange(0.7, 1.32, 0.05)]
    )
    threshold_sweep(people, probes, enrolments, ident["strangers"], sweep_points, point.mark_distance)

    faces_truth = group_truth(args.dataset, analysed)
    cv_ident, cv_group, folds = cross_validate(people, probes, enrolments, qualities, analysed, faces_truth)
    full_ident, full_group, nearest = tiers_full_set(
        people, probes, enrolments, qualities, analysed, faces_truth, point
    )
    gaps = [f["gap"] for f in folds]

    summary = {
        "embedder": embedder.name,
        "operating_point": dataclasses.asdict(point),
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
        "cv_min_gap_mark_to_nearest_impostor": min(gaps),
        "full_gap_mark_to_nearest_impostor": round(nearest - point.mark_distance, 4),
    }
    if not args.no_write:
        rules = {
            "mark_false_accept_per_comparison": MARK_FALSE_ACCEPT,
            "few_photos": FEW_PHOTOS,
            "few_photos_false_accept_per_comparison": FEW_PHOTOS_FALSE_ACCEPT,
            "suggest": "equal-error point of the fitted genuine and impostor normals",
            "margins": "one impostor standard deviation",
            "min_face_px": "MIN_ENROLMENT_FACE_PX",
            "sharpness_and_yaw": "range of the calibration faces",
        }
        evidence = {
            "dataset": args.dataset.name,
            "rules": rules,
            "protocol": " ".join(cross_validate.__doc__.split()),
            "folds": folds,
            "fitted_all_identities": fitted,
            "cross_validated": {"identity": cv_ident, "group": cv_group},
            "full_set": {"identity": full_ident, "group": full_group},
            "min_gap_mark_to_nearest_impostor_held_out": min(gaps),
        }
        print(f"calibration written to {write_calibration(embedder.name, point, evidence)}")
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
