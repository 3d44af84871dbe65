"""Evaluate the face engine on a labelled face dataset, beside face_recognition (the peer).

    python bench/evaluate.py DATASET_DIR [--embedder dlib|facenet] [--json OUT]

Calls only recognition.engine functions for our pipeline (no Django), so the
numbers are what the worker does. The last stdout line is one JSON object.
See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import csv
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

from recognition.engine.detect import FaceDetector  # noqa: E402
from recognition.engine.embedders import load_embedder  # noqa: E402
from recognition.engine.images import load_image  # noqa: E402
from recognition.engine.match import Gallery, default_margin, default_threshold, match_faces  # noqa: E402
from recognition.engine.pipeline import EnrolmentRejected, analyse_photo, choose_enrolment_face  # noqa: E402
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
            truth[row["file"]].append(((float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])), row["label"]))
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
    print("\n## 1. Group photos (ours: MTCNN + align + %s), time = median of %d runs after a warm-up" % (embedder.name, repeats))
    print("| photo | counted | found | false | dup | detect ms | embed ms | total s |")
    print("|---|---|---|---|---|---|---|---|")
    totals = defaultdict(float)
    per_photo = {}
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
        found, false, dup, counted = score_detections([(f.box, f.score) for f in result], boxes)
        print(f"| {Path(name).name} | {counted} | {found} | {false} | {dup} | {det_ms:.0f} | {emb_ms:.0f} | {seconds:.2f} |")
        for key, value in (("found", found), ("false", false), ("dup", dup), ("counted", counted),
                           ("seconds", seconds), ("detect_s", det_ms / 1000), ("embed_s", emb_ms / 1000)):
            totals[key] += value
        per_photo[name] = {"found": found, "false": false, "dup": dup, "counted": counted, "seconds": round(seconds, 3)}
    print(f"| **total** | {totals['counted']:.0f} | {totals['found']:.0f} | {totals['false']:.0f} | {totals['dup']:.0f} | "
          f"{totals['detect_s'] * 1000:.0f} | {totals['embed_s'] * 1000:.0f} | {totals['seconds']:.2f} |")
    return totals, per_photo


def embed_identities_ours(people, detector, embedder):
    """Per image: embedding of the largest face (or None), and the enrolment
    embedding embed_enrolment_photo() would give (or its refusal reason)."""
    probes, enrolments = {}, {}
    for person, paths in people.items():
        for path in paths:
            pixels = np.asarray(load_image(path))
            faces = analyse_photo(pixels, detector, embedder)
            largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), default=None)
            probes[path] = None if largest is None else largest.embedding
            try:
                # = embed_enrolment_photo(), reusing the detection and embedding above
                enrolments[path] = choose_enrolment_face(faces).embedding
            except EnrolmentRejected as exc:
                enrolments[path] = str(exc)
    return probes, enrolments


def closed_and_open_set(people, probes, enrolments, decide, label):
    """Enrol the largest face of the first image of each person (as the peer's
    protocol), probe the rest by their largest face.
    decide(probe_vectors, gallery) -> list of (label or None, nearest label)."""
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
    result = {"rank1_correct": 0, "rank1_total": 0, "accepted_right": 0, "accepted_wrong": 0, "rejected": 0, "no_face": 0}
    errors = []
    gallery = Gallery([enrolled[p] for p in enrolled], list(enrolled))
    for person, paths in people.items():
        for path in paths[1:]:
            result["rank1_total"] += 1
            if probes[path] is None:
                result["no_face"] += 1
                errors.append(f"{path.parent.name}/{path.name}: no face")
                continue
            decided, nearest = decide(probes[path][None], gallery)[0]
            result["rank1_correct"] += nearest == person
            if decided is None:
                result["rejected"] += 1
            elif decided == person:
                result["accepted_right"] += 1
            else:
                result["accepted_wrong"] += 1
            if decided != person:
                errors.append(f"{path.parent.name}/{path.name} -> {decided} (nearest {nearest})")
    open_gallery = Gallery([enrolled[p] for p in enrolled if p not in strangers], [p for p in enrolled if p not in strangers])
    stranger_total = stranger_accepted = 0
    for person in strangers:
        for path in people[person]:
            stranger_total += 1
            if probes[path] is not None and decide(probes[path][None], open_gallery)[0][0] is not None:
                stranger_accepted += 1
    print(f"\n## 2-3. Identification ({label}): enrolled {len(enrolled)}, no face in the enrolment image: {enrol_failed or 'none'}")
    for line in enrol_refused:
        print(f"    (the enrolment rules would refuse {line})")
    print(f"rank-1 {result['rank1_correct']}/{result['rank1_total']}; at the threshold: right {result['accepted_right']}, "
          f"wrong person {result['accepted_wrong']}, unknown {result['rejected']}, no face {result['no_face']}")
    for line in errors:
        print("   ", line)
    print(f"open set: strangers {strangers} removed; {stranger_accepted}/{stranger_total} of their images accepted as someone")
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
    open_gallery = Gallery([v for k, v in enrolled.items() if k not in strangers], [k for k in enrolled if k not in strangers])
    print(f"\n## 6. Threshold sweep (L2-normalised distance); genuine pairs {len(genuine)}, impostor pairs {len(impostor)}")
    print(f"genuine max {genuine.max():.3f}, 99th pct {np.percentile(genuine, 99):.3f}; impostor min {impostor.min():.3f}, 1st pct {np.percentile(impostor, 1):.3f}")
    print("| threshold | pairs false reject | pairs false accept | probes right | probes wrong | probes unknown | strangers accepted |")
    print("|---|---|---|---|---|---|---|")
    for t in thresholds:
        right = wrong = unknown = accepted = 0
        for person in people:
            for path in people[person][1:]:
                if probes[path] is None:
                    unknown += 1
                    continue
                m = match_faces(probes[path][None], gallery, t, 0.0)[0]
                right += m.label == person
                wrong += m.label is not None and m.label != person
                unknown += m.label is None
            if person in strangers:
                for path in people[person]:
                    if probes[path] is not None:
                        accepted += match_faces(probes[path][None], open_gallery, t, 0.0)[0].label is not None
        mark = " (default)" if abs(t - chosen) < 1e-9 else ""
        print(f"| {t:.2f}{mark} | {(genuine > t).sum()} ({(genuine > t).mean():.1%}) | {(impostor <= t).sum()} ({(impostor <= t).mean():.2%}) | "
              f"{right} | {wrong} | {unknown} | {accepted} |")


def attendance(dataset, people, enrolments, detector, embedder, threshold, margin):
    """Everyone enrolled with all their photos; each labelled group photo goes
    through analyse_photo + match_faces as a capture would."""
    labels, vectors = [], []
    for person, paths in people.items():
        for path in paths:
            if not isinstance(enrolments[path], str):
                labels.append(person)
                vectors.append(enrolments[path])
    gallery = Gallery(vectors, labels)
    truth = defaultdict(list)
    with open(dataset / "group_identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            truth[row["file"]].append(((float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])), row["identity"]))
    counts = {"correct": 0, "wrong": 0, "missed": 0, "strangers_marked": 0, "students": 0}
    print(f"\n## 5. Attendance: {len(set(labels))} people enrolled with {len(labels)} photos; threshold {threshold}, margin {margin}")
    for name, faces in sorted(truth.items()):
        pixels = np.asarray(load_image(dataset / name))
        result = analyse_photo(pixels, detector, embedder)
        matches = match_faces(np.stack([f.embedding for f in result]) if len(result) else np.zeros((0, embedder.dim)), gallery, threshold, margin)
        # who each detected face is, by the labelled box it overlaps most
        marked = {}
        for face, match in zip(result, matches):
            overlaps = [(iou(face.box, box), who) for box, who in faces]
            best_iou, who = max(overlaps) if overlaps else (0.0, None)
            if match.label is not None:
                marked[match.label] = who if best_iou >= IOU_MATCH else "(no labelled face)"
        details = []
        for _, who in faces:
            if who == "unknown":
                continue
            counts["students"] += 1
            if marked.get(who) == who:
                counts["correct"] += 1
            elif any(truth_who == who for truth_who in marked.values()):
                counts["wrong"] += 1
                details.append(f"{who} marked as someone else")
            else:
                counts["missed"] += 1
                details.append(f"{who} missed")
        for label, who in marked.items():
            if who != label and who in ("unknown", "(no labelled face)"):
                counts["strangers_marked"] += 1
                details.append(f"{label} marked present from an unknown face")
        print(f"{Path(name).name}: faces {len(result)}, marked {sorted(marked)} {'; '.join(details)}")
    print(f"labelled students {counts['students']}: right {counts['correct']}, as someone else {counts['wrong']}, "
          f"missed {counts['missed']}; unknown people marked present {counts['strangers_marked']}")
    return counts


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
        out[upsample] = {"found": found, "false": false, "dup": dup, "counted": counted, "seconds": seconds,
                         "encode_seconds": encode_seconds}
        print(f"peer HOG upsample {upsample}: found {found}/{counted}, false {false}, dup {dup}; "
              f"detect {seconds:.2f} s + encode {encode_seconds:.2f} s = {seconds + encode_seconds:.2f} s (1 run)")

    probes = {}
    for person, paths in people.items():
        for path in paths:
            pixels = face_recognition.load_image_file(path)
            locations = face_recognition.face_locations(pixels)
            if not locations:
                probes[path] = None
                continue
            largest = max(locations, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            probes[path] = face_recognition.face_encodings(pixels, [largest])[0]
    enrolments = {p: (v if v is not None else "no face") for p, v in probes.items()}

    def decide(vectors, gallery):
        matches = match_faces(vectors, gallery, PEER_TOLERANCE, 0.0)
        return [(m.label, m.nearest_label) for m in matches]

    ident = closed_and_open_set(people, probes, enrolments, decide, "peer face_recognition, HOG up1, tolerance 0.6 raw")
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
    args = parser.parse_args(argv)

    configure_threads(args.threads)
    detector = FaceDetector()
    embedder = load_embedder(args.embedder, facenet_weights=args.facenet_weights)
    threshold, margin = default_threshold(embedder.name), default_margin(embedder.name)
    print(f"# Face engine evaluation: {args.dataset}\nembedder {embedder.name}, threshold {threshold}, margin {margin}, threads {args.threads}")

    truth = read_boxes(args.dataset)
    group, per_photo = bench_group_ours(args.dataset, truth, detector, embedder, args.repeats)

    people = identity_images(args.dataset)
    probes, enrolments = embed_identities_ours(people, detector, embedder)

    def decide(vectors, gallery):
        matches = match_faces(vectors, gallery, threshold, margin)
        return [(m.label, m.nearest_label) for m in matches]

    ident = closed_and_open_set(people, probes, enrolments, decide, f"ours, {embedder.name}")
    sweep_points = [round(x, 2) for x in np.arange(0.30, 0.62, 0.02)] if embedder.name.startswith("dlib") else [round(x, 2) for x in np.arange(0.7, 1.32, 0.05)]
    threshold_sweep(people, probes, enrolments, ident["strangers"], sweep_points, threshold)
    att = attendance(args.dataset, people, enrolments, detector, embedder, threshold, margin)

    summary = {
        "embedder": embedder.name,
        "threshold": threshold,
        "margin": margin,
        "group_found": int(group["found"]),
        "group_false_boxes": int(group["false"]),
        "group_duplicate_boxes": int(group["dup"]),
        "group_counted": int(group["counted"]),
        "group_seconds": round(group["seconds"], 2),
        "group_detect_seconds": round(group["detect_s"], 2),
        "group_embed_seconds": round(group["embed_s"], 2),
        "rank1_correct": ident["rank1_correct"],
        "rank1_total": ident["rank1_total"],
        "accepted_right": ident["accepted_right"],
        "accepted_wrong": ident["accepted_wrong"],
        "rejected_unknown": ident["rejected"],
        "strangers": ident["strangers"],
        "strangers_accepted": ident["strangers_accepted"],
        "strangers_total": ident["strangers_total"],
        "attendance_students": att["students"],
        "attendance_correct": att["correct"],
        "attendance_wrong": att["wrong"],
        "attendance_missed": att["missed"],
        "attendance_strangers_marked": att["strangers_marked"],
    }
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
