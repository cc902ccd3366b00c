"""``makemessages`` that also extracts strings marked with ``_l``: the project imports ``gettext_lazy as _l`` where a module needs
both forms (class-level labels next to ``gettext as _`` in functions), and xgettext only knows the standard names."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_l"]
