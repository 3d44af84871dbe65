"""A local S3-compatible server for the tests: moto's server mode on a free port of 127.0.0.1,
spoken to over real HTTP by the real client (boto3, through django-storages). Fixtures:
`s3_server` (one per test session) and `s3_photos` (the site's photos in a new bucket of it)."""

import logging
import uuid
from contextlib import contextmanager

import boto3
import pytest
from moto.server import ThreadedMotoServer

from attendance_site.settings import object_storage
from tests.processes import free_port

# moto takes any keys; these are what the site and the test's own client send.
ACCESS_KEY, SECRET_KEY, REGION = "rollcall-test", "rollcall-test-secret", "us-east-1"


class LocalS3:
    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self):
        name = f"rollcall-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def keys(self, bucket, prefix=""):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def storage(self, bucket):
        """The site's STORAGES["default"] for this bucket, as settings.py makes it from S3_*."""
        return object_storage(bucket, self.url, REGION, ACCESS_KEY, SECRET_KEY)

    def environment(self, bucket):
        """The variables that point a web server or worker process at this bucket."""
        return {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": self.url,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }


@contextmanager
def local_s3_server():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield LocalS3(port)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server():
    with local_s3_server() as server:
        yield server


@pytest.fixture
def s3_photos(settings, s3_server):
    """The site's photos go to a new, empty bucket of the local server; yields its name."""
    bucket = s3_server.new_bucket()
    settings.STORAGES = {**settings.STORAGES, "default": s3_server.storage(bucket)}
    return bucket
