"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives and can be told to
refuse the next commands, or be stopped and started again on the same port, as a school's mail
server that is busy or down would behave."""

import asyncio
import logging
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tests.processes import free_port

# aiosmtpd logs every command at INFO; a failing test would drown in them.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class RecordingHandler:
    def __init__(self):
        self.messages = []  # email.message.EmailMessage, in the order accepted
        self.refusals = {"RCPT": [], "DATA": []}  # replies to give instead of accepting
        self.data_delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusals["RCPT"]:
            return self.refusals["RCPT"].pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusals["DATA"]:
            return self.refusals["DATA"].pop(0)
        await asyncio.sleep(self.data_delay)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


class LocalSMTPServer:
    def __init__(self):
        self.port = free_port()
        self.handler = RecordingHandler()
        self.controller = None

    @property
    def messages(self):
        return self.handler.messages

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def refuse_next(self, command, reply, times=1):
        """Answer the next `times` RCPT or DATA commands with reply (e.g. "451 4.3.0 Try later")."""
        self.handler.refusals[command].extend([reply] * times)
