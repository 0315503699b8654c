"""The player, in small modules (like Picard's ``picard/ui/player``):

* :mod:`.common` – constants, the shortcut table, protocols, the URL error sentence;
* :mod:`.controller` – :class:`PlayerController`, the QObject facade over QMediaPlayer;
* :mod:`.widget` – :class:`PlayerWidget`, the view (video, seek bar, buttons, shortcuts);
* :mod:`.view` – :class:`PlayerView`, the player as the main window installs it.

``from medispecs_desktop.ui.player import …`` keeps working for every name below.
"""

from medispecs_desktop.ui.player.common import (
    BIG_STEP_MS,
    DEFAULT_FPS,
    RATES,
    SHORTCUTS,
    SMALL_STEP_MS,
    PlaybackUrlLike,
    TasksLike,
    UrlProvider,
    describe_url_error,
)
from medispecs_desktop.ui.player.controller import PlayerController
from medispecs_desktop.ui.player.view import PlayerView
from medispecs_desktop.ui.player.widget import PlayerWidget

__all__ = [
    "BIG_STEP_MS",
    "DEFAULT_FPS",
    "RATES",
    "SHORTCUTS",
    "SMALL_STEP_MS",
    "PlaybackUrlLike",
    "PlayerController",
    "PlayerView",
    "PlayerWidget",
    "TasksLike",
    "UrlProvider",
    "describe_url_error",
]
