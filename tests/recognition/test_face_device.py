"""FACE_DEVICE: declared and checked in the settings, resolved and logged where the worker loads
the engine."""

import logging

import pytest
import torch

from recognition.engine.device import DeviceUnavailable
from recognition.processing import face_engine
from tests.test_code_health import run_python

SETTINGS = (
    "import django\n"
    "from django.conf import settings\n"
    "try:\n"
    "    django.setup(); print(settings.FACE_DEVICE)\n"
    "except Exception as error:\n"
    "    print(type(error).__name__, error)\n"
)


def test_the_settings_refuse_an_unknown_face_device_naming_the_variable():
    site = {"DJANGO_SETTINGS_MODULE": "attendance_site.settings"}
    assert run_python(SETTINGS, **site, FACE_DEVICE=None).stdout.strip() == "auto"
    assert run_python(SETTINGS, **site, FACE_DEVICE="cuda").stdout.strip() == "cuda"
    refused = run_python(SETTINGS, **site, FACE_DEVICE="gpu").stdout.strip()
    assert refused == "ImproperlyConfigured FACE_DEVICE='gpu' is not a face device: set it to auto, cpu or cuda."
    assert run_python(SETTINGS, **site, FACE_DEVICE="CPU").stdout.startswith("ImproperlyConfigured FACE_DEVICE='CPU'")


@pytest.fixture
def fresh_engine():
    """face_engine() loaded anew under the test's settings, and again afterwards for the others."""
    face_engine.cache_clear()
    yield face_engine
    face_engine.cache_clear()


def test_the_worker_logs_the_device_it_runs_the_engine_on(fresh_engine, settings, caplog):
    settings.FACE_DEVICE = "cpu"
    with caplog.at_level(logging.INFO, logger="recognition.processing"):
        engine = fresh_engine()
    assert "Face device: cpu (1 torch thread) (FACE_DEVICE=cpu)" in caplog.messages
    assert engine.detector.device.type == "cpu" and engine.detector.glue == "opencv"


def test_a_worker_told_to_use_a_gpu_it_does_not_have_stops_with_the_reason(fresh_engine, settings, monkeypatch):
    settings.FACE_DEVICE = "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # this machine, as torch sees it
    with pytest.raises(DeviceUnavailable, match="FACE_DEVICE=cuda, but torch sees no CUDA GPU"):
        fresh_engine()
