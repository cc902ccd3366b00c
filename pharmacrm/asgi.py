import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pharmacrm.settings")
application = get_asgi_application()

# The pinyin and Chinese-conversion dictionaries are millions of long-lived objects. Load them now and
# take everything loaded so far out of the cyclic collector's scans (gc.freeze), so that a full
# collection does not land in the middle of a search-as-you-type request.
from pharmacrm.core import hanzi  # noqa: E402  (after Django is set up)

hanzi.readings(hanzi.normalize("预热 重庆市长寿区人民医院"))
gc.freeze()
