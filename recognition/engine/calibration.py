"""The rules of match.decide() per face-size band, how they are chosen, and the files they are
kept in (one JSON file per embedder, written by bench/evaluate.py with its evidence).

The rule that sets them lives here; the benchmark only makes the faces and measures. For each
band of face sizes (BAND_LAYOUT), with the faces of the calibration identities degraded to the
band's sizes (and the photos as they are for the largest faces):
- distances of every face to every enrolled person, leaving out the photo the face came from:
  same-person (genuine) and different-person (impostor) distances, each fitted with a normal;
- auto-mark at most MARK_FALSE_ACCEPT per student compared (1/30,000: about 1 stranger face in
  1,000 marked against a 30-student roster), read off the fitted impostor normal, whose tail is
  heavier than the dev set's: the fit is the cautious side. Ten times stricter for a student with
  fewer than FEW_PHOTOS distinct enrolment photos: one or two photos say nothing of how that
  student varies;
- a suggestion up to the equal-error point of the two normals (beyond it a face is likelier
  anyone else than the student); margins of one impostor standard deviation;
- gates: the band's smallest face, and the blurriest and most turned face it was measured on;
- person rules (decide_people): the same, on the means of 1..N views of one photo degraded
  anew each time (views of one person are not independent evidence: the mean converges to that
  person's descriptor, and a look-alike's converges near the student's). The mark distance
  follows the trend of the fitted tail in 1/n to infinitely many views, so no number of frames
  of one stranger takes them over it.
An embedder without a file has no trusted operating point: FACE_EMBEDDER=auto does not pick it
(embedders.load_embedder).
"""

from __future__ import annotations

import dataclasses
import json
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .match import Band, Calibration, OperatingPoint, _unit_rows, to_distance, typical_quality
from .quality import FaceQuality

CALIBRATIONS_DIR = Path(__file__).resolve().parent / "calibrations"

MARK_FALSE_ACCEPT = 1 / 30_000
FEW_PHOTOS = 3
FEW_PHOTOS_FALSE_ACCEPT = MARK_FALSE_ACCEPT / 10
FOLDS = 5  # k-fold over identities: an operating point never sees the people it is scored on
# (where the band starts: face px, the size its faces meet the enrolment photos at: 0 as they
# are). Spaced by ~1.2x in size: the same-person distances drift by ~0.01-0.02 per step
# (dlib, dev set), so one set of rules fits a band. A gallery size near the band's middle: a
# face meets enrolment photos shrunk to about its size (measured: sizes within ~1.2x of the
# probe's gain alike; much smaller ones lose).
BAND_LAYOUT = ((72, 0), (56, 64), (44, 50), (36, 40), (29, 32), (24, 26))
# Sizes the degraded calibration faces of each band are drawn from (the largest band: faces
# between its start and this, for its person rules; its single-face rules are also measured on
# the photos as they are).
LARGEST_BAND_END = 96


class NotCalibrated(LookupError):
    """No calibration file on record for this embedder."""


@dataclass(frozen=True)
class Sample:
    """One face of the calibration set."""

    person: str
    photo: str  # the photo it was made from: never compared with that photo's own vectors
    vector: np.ndarray
    quality: FaceQuality
    # "" for a photo as it is; else the series it belongs to: the views of one series are one
    # photo degraded anew each time, one person seen again and again (decide_people).
    series: str = ""


def band_ranges(layout=BAND_LAYOUT) -> list[tuple[float, float]]:
    """[start, end) face px of each band, largest first."""
    return [(start, layout[k - 1][0] if k else float("inf")) for k, (start, _) in enumerate(layout)]


def series_ranges(layout=BAND_LAYOUT) -> list[tuple[float, float]]:
    """[start, end) face px to degrade the calibration photos to, for each band."""
    return [(start, min(end, LARGEST_BAND_END)) for start, end in band_ranges(layout)]


def identity_folds(persons, folds: int = FOLDS, seed: int = 0) -> list[list[str]]:
    """The identities split into `folds` held-out sets (shuffled with a fixed seed)."""
    persons = sorted(persons)
    random.Random(seed).shuffle(persons)
    return [persons[k::folds] for k in range(folds)]


def cross_validated(samples, enrolment, folds, layout=BAND_LAYOUT) -> list[tuple[list[str], Calibration, dict]]:
    """(held_out, calibration, evidence) per fold: each calibrated on the other identities only."""
    everyone = sorted({sample.person for sample in samples})
    return [
        (held_out, *calibrate(samples, enrolment, [p for p in everyone if p not in held_out], layout))
        for held_out in folds
    ]


def calibrate(samples, enrolment, persons=None, layout=BAND_LAYOUT) -> tuple[Calibration, dict]:
    """The Calibration from these persons' samples and enrolment vectors only, and its evidence.

    samples: Sample per face (the photos as they are, and degraded series in every band);
    enrolment: (person, photo, size_px, vector) per enrolment photo and gallery size (0: as it
    is); persons: whom to calibrate on (None: everyone in samples)."""
    persons = set(persons) if persons is not None else {sample.person for sample in samples}
    rows = [row for row in enrolment if row[0] in persons]
    ours = [sample for sample in samples if sample.person in persons]
    series = defaultdict(list)
    for sample in ours:
        if sample.series:
            series[(sample.person, sample.photo, sample.series)].append(sample)
    # A person is in the band of their median face (match.decide_people).
    people = {key: typical_quality([v.quality for v in views]) for key, views in series.items()}
    bands, evidence = [], []
    for (start, end), (_, gallery_px) in zip(band_ranges(layout), layout, strict=True):
        in_band = [sample for sample in ours if start <= sample.quality.size_px < end]
        if not in_band:
            raise ValueError(f"no calibration faces of {start}-{end} px")
        gallery = _gallery_at(rows, gallery_px)
        genuine, impostor = _distances(
            [s.vector for s in in_band], [s.photo for s in in_band], [s.person for s in in_band], gallery
        )
        point, fitted = _fit_point(genuine, impostor, in_band, start)
        band_people = {key: series[key] for key, quality in people.items() if start <= quality.size_px < end}
        person_point, per_views = _fit_person_point(band_people, gallery, point)
        bands.append(Band(point, person_point, gallery_px))
        evidence.append(
            {
                "faces_px": [start, None if end == float("inf") else end],
                "gallery_px": gallery_px,
                "faces": len(in_band),
                "persons": len({s.person for s in in_band}),
                "fitted": fitted,
                "genuine_under_mark": round(float(np.mean(genuine <= point.mark_distance)), 3),
                "person_views": per_views,
            }
        )
    return Calibration(tuple(bands)), {"bands": evidence}


def _gallery_at(rows, size):
    """(vectors, persons, photos) of the enrolment photos at this size (as they are where a photo
    has no vector at it)."""
    by_photo = defaultdict(dict)
    for person, photo, row_size, vector in rows:
        by_photo[(person, photo)][row_size] = vector
    kept = [(key, sized) for key, sized in by_photo.items() if 0 in sized]
    vectors = _unit_rows(np.stack([sized.get(size, sized[0]) for _, sized in kept]))
    return vectors, np.array([person for (person, _), _ in kept]), np.array([photo for (_, photo), _ in kept])


def _distances(vectors, photos, persons, gallery):
    """Genuine and impostor distances: each face to each person (nearest of their photos),
    its own photo left out."""
    rows, row_person, row_photo = gallery
    sims = _unit_rows(np.stack(vectors)) @ rows.T
    sims[np.asarray(photos)[:, None] == row_photo[None, :]] = -np.inf
    people = sorted(set(row_person.tolist()))
    nearest = to_distance(np.stack([sims[:, row_person == p].max(axis=1) for p in people], axis=1))
    own = np.asarray(persons)[:, None] == np.array(people)[None, :]
    finite = np.isfinite(nearest)
    return nearest[own & finite], nearest[~own & finite]


def _fit_point(genuine, impostor, faces, start) -> tuple[OperatingPoint, dict]:
    g, i = statistics.NormalDist.from_samples(genuine), statistics.NormalDist.from_samples(impostor)
    z = statistics.NormalDist().inv_cdf
    point = OperatingPoint(
        mark_distance=round(i.mean + z(MARK_FALSE_ACCEPT) * i.stdev, 3),
        few_photos=FEW_PHOTOS,
        few_photos_mark_distance=round(i.mean + z(FEW_PHOTOS_FALSE_ACCEPT) * i.stdev, 3),
        suggest_distance=round((g.mean * i.stdev + i.mean * g.stdev) / (g.stdev + i.stdev), 3),
        roster_margin=round(i.stdev, 3),
        school_margin=round(i.stdev, 3),
        min_face_px=float(start),
        min_sharpness=round(min(f.quality.sharpness for f in faces), 1),
        max_yaw=round(max(f.quality.yaw for f in faces), 3),
    )
    fitted = {
        "genuine_mean": round(g.mean, 4),
        "genuine_sd": round(g.stdev, 4),
        "genuine_max": round(float(genuine.max()), 4),
        "impostor_mean": round(i.mean, 4),
        "impostor_sd": round(i.stdev, 4),
        "impostor_min": round(float(impostor.min()), 4),
        "genuine_n": len(genuine),
        "impostor_n": len(impostor),
    }
    return point, fitted


def _fit_person_point(series, gallery, point) -> tuple[OperatingPoint, list]:
    """The band's rules for the mean of several views, from the means of the first n views of
    each series ({(person, photo, series): views}), n = 1..N; mark distances extrapolated to
    n -> infinity (a + b/n)."""
    most = max((len(views) for views in series.values()), default=0)
    if most < 2:
        return point, []  # nothing to measure several views on: the single-face rules
    per_views, fits = [], []
    for n in range(1, most + 1):
        chosen = [(key, views[:n]) for key, views in series.items() if len(views) >= n]
        means = [np.mean(_unit_rows(np.stack([v.vector for v in views])), axis=0) for _, views in chosen]
        genuine, impostor = _distances(means, [key[1] for key, _ in chosen], [key[0] for key, _ in chosen], gallery)
        fit, fitted = _fit_point(genuine, impostor, [v for _, views in chosen for v in views], point.min_face_px)
        fits.append((n, fit))
        per_views.append(
            {
                "views": n,
                "series": len(chosen),
                "mark_distance": fit.mark_distance,
                "genuine_under_mark": round(float(np.mean(genuine <= fit.mark_distance)), 3),
                **fitted,
            }
        )
    last = fits[-1][1]
    person_point = dataclasses.replace(
        last,
        suggest_distance=max(fit.suggest_distance for _, fit in fits),
        mark_distance=_at_infinitely_many(fits, "mark_distance"),
        few_photos_mark_distance=_at_infinitely_many(fits, "few_photos_mark_distance"),
        roster_margin=max(fit.roster_margin for _, fit in fits),
        school_margin=max(fit.school_margin for _, fit in fits),
        min_sharpness=point.min_sharpness,
        max_yaw=point.max_yaw,
    )
    return person_point, per_views


def _at_infinitely_many(fits, field: str) -> float:
    """The strictest of: each measured number of views, and the a of a least-squares a + b/n."""
    ns = np.array([n for n, _ in fits], dtype=float)
    values = np.array([getattr(fit, field) for _, fit in fits])
    slope, limit = np.polyfit(1.0 / ns, values, 1)
    return round(float(min(values.min(), limit)), 3)


def calibration_path(model_name: str, directory: Path = CALIBRATIONS_DIR) -> Path:
    return Path(directory) / f"{model_name}.json"


def is_calibrated(model_name: str, directory: Path = CALIBRATIONS_DIR) -> bool:
    return calibration_path(model_name, directory).is_file()


def load_calibration(model_name: str, directory: Path = CALIBRATIONS_DIR) -> Calibration:
    path = calibration_path(model_name, directory)
    if not path.is_file():
        raise NotCalibrated(
            f"No calibration for {model_name} ({path}). Run `bench/evaluate.py DATASET --embedder ...` "
            "to calibrate it, or set FACE_MATCH_THRESHOLD."
        )
    bands = json.loads(path.read_text())["bands"]
    return Calibration(
        tuple(
            Band(
                OperatingPoint(**band["point"]),
                OperatingPoint(**band["person_point"]),
                band["gallery_px"],
            )
            for band in bands
        )
    )


def load_operating_point(model_name: str, directory: Path = CALIBRATIONS_DIR) -> OperatingPoint:
    """The rules of the largest faces."""
    return load_calibration(model_name, directory).base


def write_calibration(
    model_name: str, calibration: Calibration, evidence: dict, directory: Path = CALIBRATIONS_DIR
) -> Path:
    path = calibration_path(model_name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    bands = [
        {
            "gallery_px": band.gallery_px,
            "point": dataclasses.asdict(band.point),
            "person_point": dataclasses.asdict(band.person_point),
        }
        for band in calibration.bands
    ]
    body = {"model_name": model_name, "bands": bands, "evidence": evidence}
    path.write_text(json.dumps(body, indent=1) + "\n")
    return path


def single_threshold(threshold: float) -> OperatingPoint:
    """One distance for everything, no grey zone, margins, photo rule or quality gates: the rule
    of an admin who sets FACE_MATCH_THRESHOLD for an embedder we have not calibrated."""
    return OperatingPoint(
        mark_distance=threshold,
        few_photos=0,
        few_photos_mark_distance=threshold,
        suggest_distance=threshold,
        roster_margin=0.0,
        school_margin=0.0,
        min_face_px=0.0,
        min_sharpness=0.0,
        max_yaw=float("inf"),
    )


def calibration(model_name: str, mark_distance: float | None = None, directory: Path = CALIBRATIONS_DIR) -> Calibration:
    """The calibration of this embedder. mark_distance (FACE_MATCH_THRESHOLD) overrides the
    auto-mark distance of the largest faces (and caps their few-photos one); smaller faces keep
    their own, capped at it: an admin's distance never loosens the rules of a band measured to
    need stricter ones. For an uncalibrated embedder it stands alone, for every face."""
    if not is_calibrated(model_name, directory):
        if mark_distance is None:
            load_calibration(model_name, directory)  # raises NotCalibrated with what to do
        return Calibration.single(single_threshold(mark_distance))
    calibrated = load_calibration(model_name, directory)
    if mark_distance is None:
        return calibrated
    base = calibrated.base
    largest = dataclasses.replace(
        base,
        mark_distance=mark_distance,
        few_photos_mark_distance=min(base.few_photos_mark_distance, mark_distance),
        suggest_distance=max(base.suggest_distance, mark_distance),
    )
    bands = [dataclasses.replace(calibrated.bands[0], point=largest)]
    for band in calibrated.bands[1:]:
        bands.append(dataclasses.replace(band, point=_capped(band.point, mark_distance)))
    return Calibration(
        tuple(dataclasses.replace(b, person_point=_capped(b.person_point, mark_distance)) for b in bands)
    )


def _capped(point: OperatingPoint, mark_distance: float) -> OperatingPoint:
    return dataclasses.replace(
        point,
        mark_distance=min(point.mark_distance, mark_distance),
        few_photos_mark_distance=min(point.few_photos_mark_distance, mark_distance),
    )


def operating_point(
    model_name: str, mark_distance: float | None = None, directory: Path = CALIBRATIONS_DIR
) -> OperatingPoint:
    """The rules of the largest faces of calibration() (enrolment checks, grouping)."""
    return calibration(model_name, mark_distance, directory).base
