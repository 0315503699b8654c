"""The library, in small modules:

* :mod:`.common` – columns, roles, sizes, the API protocol;
* :mod:`.model` – :class:`VideoTableModel` (rows, paging, queued recordings on top);
* :mod:`.thumbnails` – :class:`ThumbnailQueue` (lazy thumbnails, a few downloads at a time);
* :mod:`.proxy` – :class:`LibraryProxyModel` (title search, sort);
* :mod:`.views` – :class:`LibraryTableView`, :class:`LibraryGridView`;
* :mod:`.details` – :class:`VideoDetailsPane`;
* :mod:`.keeper` – :class:`SelectionKeeper` (the selection and unsaved edits survive changes);
* :mod:`.filters` – :class:`FilterBar`; :mod:`.offline` – the offline copy's writer;
* :mod:`.widget` – :class:`LibraryWidget`; :mod:`.view` – :class:`LibraryView` (per sign-in).

The Qt-free rules (query, paging, merging, sentences) are in
:mod:`medispecs_desktop.core.library`. The app wires the library to the player and the
uploads in :mod:`medispecs_desktop.ui.composition`.
"""

from medispecs_desktop.core.library import (
    PAGE_SIZE,
    STATUS_TEXT,
    LibraryQuery,
    LocalQueueItem,
    delete_confirmation_text,
    local_date_range_to_utc,
)
from medispecs_desktop.core.messages import describe_error
from medispecs_desktop.ui.library.common import (
    COL_DEVICE,
    COL_DURATION,
    COL_RECORDED,
    COL_SIZE,
    COL_STATUS,
    COL_THUMB,
    COL_TITLE,
    GRID_THUMB_SIZE,
    HEADERS,
    LOCAL_ITEM_ROLE,
    SORT_ROLE,
    TABLE_THUMB_SIZE,
    VIDEO_ID_ROLE,
    VIDEO_ROLE,
    LibraryApi,
)
from medispecs_desktop.ui.library.details import VideoDetailsPane
from medispecs_desktop.ui.library.model import VideoTableModel, source_row, video_for_index
from medispecs_desktop.ui.library.proxy import LibraryProxyModel
from medispecs_desktop.ui.library.view import LibraryView
from medispecs_desktop.ui.library.views import LibraryGridView, LibraryTableView
from medispecs_desktop.ui.library.widget import LibraryWidget

__all__ = [
    "COL_DEVICE",
    "COL_DURATION",
    "COL_RECORDED",
    "COL_SIZE",
    "COL_STATUS",
    "COL_THUMB",
    "COL_TITLE",
    "GRID_THUMB_SIZE",
    "HEADERS",
    "LOCAL_ITEM_ROLE",
    "PAGE_SIZE",
    "SORT_ROLE",
    "STATUS_TEXT",
    "TABLE_THUMB_SIZE",
    "VIDEO_ID_ROLE",
    "VIDEO_ROLE",
    "LibraryApi",
    "LibraryGridView",
    "LibraryProxyModel",
    "LibraryQuery",
    "LibraryTableView",
    "LibraryView",
    "LibraryWidget",
    "LocalQueueItem",
    "VideoDetailsPane",
    "VideoTableModel",
    "delete_confirmation_text",
    "describe_error",
    "local_date_range_to_utc",
    "source_row",
    "video_for_index",
]
