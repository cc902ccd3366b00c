"""Mail without a server: one console line per message, the whole message kept as a file."""

from __future__ import annotations

import io
from email import message_from_bytes
from pathlib import Path

from django.core.mail import EmailMessage, get_connection


def test_each_message_is_one_line_and_a_file(tmp_path: Path, settings: object) -> None:
    settings.EMAIL_FILE_PATH = tmp_path  # type: ignore[attr-defined]
    console = io.StringIO()
    backend = get_connection("pharmacrm.core.mail.OneLineConsoleBackend", stream=console)
    messages = [EmailMessage("药物警戒：CS00000003 质量反馈", "正文\n第二行", "crm@example.com", ["pv@example.com"]),
                EmailMessage("Your PharmaCRM account", "Hello", "crm@example.com", ["a@example.com", "b@example.com"]),
                EmailMessage("nobody", "no recipient", "crm@example.com", [])]
    assert backend.send_messages(messages) == 2
    lines = console.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("mail to pv@example.com: 药物警戒：CS00000003 质量反馈 (")
    assert lines[1].startswith("mail to a@example.com, b@example.com: Your PharmaCRM account (")
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2 and all(str(path) in console.getvalue() for path in files)
    kept = [message_from_bytes(path.read_bytes()) for path in files]
    bodies = {message.get_payload(decode=True).decode("utf-8") for message in kept}
    assert bodies == {"正文\n第二行", "Hello"}
