from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError

from recognition.camera_client import FULL_RESOLUTION, CameraClient, CameraError, run_camera


def resolution(text):
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1920x1080")
    return int(width), int(height)


class Command(BaseCommand):
    help = (
        "Run a classroom camera: send a snapshot to the Roll Call server every interval and print "
        "who was recognised. Stops at the end of a video file, or with Ctrl+C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--server", required=True, help="The site's address, e.g. https://rollcall.school.example")
        parser.add_argument("--token", required=True, help="The device token an admin created for this room or course.")
        parser.add_argument(
            "--session",
            type=int,
            default=None,
            help="The class session's id. Leave it out for a room's camera: each snapshot goes to the session on "
            "in the device's room at the time (none on: the snapshot is refused and the camera carries on).",
        )
        parser.add_argument("--source", default="0", help="Camera number (0), video file, or stream URL (rtsp://...).")
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between snapshots (default 30).")
        parser.add_argument("--max-snapshots", type=int, default=None, help="Stop after this many snapshots.")
        parser.add_argument(
            "--resolution",
            type=resolution,
            default=FULL_RESOLUTION,
            help="WIDTHxHEIGHT to ask a webcam for; it sends the nearest it can (default 3840x2160, its most for "
            "most). A file or stream sends what it holds. The resolution in use is printed.",
        )

    def handle(self, *args, **options):
        client = CameraClient(options["server"], options["token"], options["session"], out=self.stdout.write)
        try:
            sent = run_camera(
                client, options["source"], options["interval"], options["max_snapshots"], options["resolution"]
            )
        except CameraError as error:
            raise CommandError(str(error)) from error
        except KeyboardInterrupt:
            return
        self.stdout.write(f"Stopped after {sent} snapshot(s).")
