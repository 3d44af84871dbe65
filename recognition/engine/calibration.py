"""Operating points on record: one JSON file per embedder, written by bench/evaluate.py.

A file holds the rules of match.decide() (OperatingPoint) and the evidence they were chosen on
(folds over identities, figures). An embedder without a file has no trusted operating point:
FACE_EMBEDDER=auto does not pick it (embedders.load_embedder).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .match import OperatingPoint

CALIBRATIONS_DIR = Path(__file__).resolve().parent / "calibrations"


class NotCalibrated(LookupError):
    """No calibration file on record for this embedder."""


def calibration_path(model_name: str, directory: Path = CALIBRATIONS_DIR) -> Path:
    return Path(directory) / f"{model_name}.json"


def is_calibrated(model_name: str, directory: Path = CALIBRATIONS_DIR) -> bool:
    return calibration_path(model_name, directory).is_file()


def load_operating_point(model_name: str, directory: Path = CALIBRATIONS_DIR) -> OperatingPoint:
    path = calibration_path(model_name, directory)
    if not path.is_file():
        raise NotCalibrated(
            f"No calibration for {model_name} ({path}). Run `bench/evaluate.py DATASET --embedder ...` "
            "to calibrate it, or set FACE_MATCH_THRESHOLD."
        )
    return OperatingPoint(**json.loads(path.read_text())["operating_point"])


def write_calibration(
    model_name: str, point: OperatingPoint, evidence: dict, directory: Path = CALIBRATIONS_DIR
) -> Path:
    path = calibration_path(model_name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"model_name": model_name, "operating_point": dataclasses.asdict(point), "evidence": evidence}
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


def operating_point(
    model_name: str, mark_distance: float | None = None, directory: Path = CALIBRATIONS_DIR
) -> OperatingPoint:
    """The calibrated point of this embedder; mark_distance (FACE_MATCH_THRESHOLD) overrides its
    auto-mark distance (and caps the few-photos one), or stands alone for an uncalibrated one."""
    if not is_calibrated(model_name, directory):
        if mark_distance is None:
            load_operating_point(model_name, directory)  # raises NotCalibrated with what to do
        return single_threshold(mark_distance)
    point = load_operating_point(model_name, directory)
    if mark_distance is None:
        return point
    return dataclasses.replace(
        point,
        mark_distance=mark_distance,
        few_photos_mark_distance=min(point.few_photos_mark_distance, mark_distance),
        suggest_distance=max(point.suggest_distance, mark_distance),
    )
