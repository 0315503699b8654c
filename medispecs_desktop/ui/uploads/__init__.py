"""The upload queue in the main window, in small modules:

* :mod:`.service` – :class:`UploadService`, the signed-in user's engine seen from the GUI;
* :mod:`.model` – :class:`UploadsModel` and the progress-bar delegate;
* :mod:`.panel` – :class:`UploadsPanel`, the dock's widget; :mod:`.skipped` – "Files not added".

The Qt-free rules (which state allows which action, the words for states and errors, the
order of the list) are in :mod:`medispecs_desktop.core.uploads.presentation`. The app wires
the queue to the window, the library and the online monitor in
:mod:`medispecs_desktop.ui.composition`.
"""

from medispecs_desktop.core.formatting import format_finish, format_speed
from medispecs_desktop.core.uploads.presentation import quit_question
from medispecs_desktop.ui.uploads.model import (
    COL_ERROR,
    COL_FINISH,
    COL_NAME,
    COL_PROGRESS,
    COL_SIZE,
    COL_SPEED,
    COL_STATE,
    HEADERS,
    JOB_ID_ROLE,
    PROGRESS_ROLE,
    ProgressDelegate,
    UploadsModel,
)
from medispecs_desktop.ui.uploads.panel import UploadsPanel
from medispecs_desktop.ui.uploads.service import (
    QUEUE_LOCK_WAIT,
    UploadService,
    default_engine_factory,
)
from medispecs_desktop.ui.uploads.skipped import SkippedDialog

__all__ = [
    "COL_ERROR",
    "COL_FINISH",
    "COL_NAME",
    "COL_PROGRESS",
    "COL_SIZE",
    "COL_SPEED",
    "COL_STATE",
    "HEADERS",
    "JOB_ID_ROLE",
    "PROGRESS_ROLE",
    "QUEUE_LOCK_WAIT",
    "ProgressDelegate",
    "SkippedDialog",
    "UploadService",
    "UploadsModel",
    "UploadsPanel",
    "default_engine_factory",
    "format_finish",
    "format_speed",
    "quit_question",
]
