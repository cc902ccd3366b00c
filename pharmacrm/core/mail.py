"""Mail without a mail server (``EMAIL_URL`` unset, as in the demo): each message is kept whole as an ``.eml``
file under ``var/mail/`` and announced in one line on the console, so the terminal says who was told what without
filling up with MIME headers and base64."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OneLineConsoleBackend(BaseEmailBackend):
    def __init__(self, *args: Any, stream: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream or sys.stdout
        self.folder = Path(settings.EMAIL_FILE_PATH)
        self._lock = threading.Lock()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            path = self.folder / f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes(linesep="\n"))
            with self._lock:
                self.stream.write(f"mail to {', '.join(message.recipients())}: {message.subject} ({path})\n")
                self.stream.flush()
            sent += 1
        return sent
