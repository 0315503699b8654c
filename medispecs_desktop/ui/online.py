"""The one source of "online" for the whole app.

:class:`OnlineMonitor` decides whether the MediSpecs service is reachable: from the OS
(QNetworkInformation, where a backend exists), from ``api.ping()`` run on the task runner
(every 30 s while online, every 10 s while offline, at once when the OS reports a change), and
from evidence the features report (:meth:`OnlineMonitor.set_online`: a library request failed
with "no connection", an upload job waits for the network, a page arrived). The status bar,
the library and the upload engine all follow its ``online_changed``; none of them probes on
its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtNetwork import QNetworkInformation

from medispecs_desktop.ui.tasks import API, TasksLike

log = logging.getLogger(__name__)

PING_INTERVAL_ONLINE_MS = 30_000
PING_INTERVAL_OFFLINE_MS = 10_000


class Pinger(Protocol):
    def ping(self) -> bool: ...


class OnlineMonitor(QObject):
    """See the module doc. ``online`` is None until known."""

    online_changed = Signal(bool)
    checked = Signal(bool)  # every probe's answer (the upload engine follows each)

    def __init__(
        self,
        tasks: TasksLike,
        api: Callable[[], Pinger | None],
        *,
        online_interval_ms: int = PING_INTERVAL_ONLINE_MS,
        offline_interval_ms: int = PING_INTERVAL_OFFLINE_MS,
        watch_os: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._api = api
        self.online_interval_ms = online_interval_ms
        self.offline_interval_ms = offline_interval_ms
        self.online: bool | None = None
        self._probing = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.check_now)
        self._info: QNetworkInformation | None = None
        if not watch_os:  # a private monitor (a widget on its own): pings only
            return
        try:
            if QNetworkInformation.loadBackendByFeatures(
                    QNetworkInformation.Feature.Reachability):
                self._info = QNetworkInformation.instance()
        except (RuntimeError, AttributeError):  # pragma: no cover - platform without it
            self._info = None
        if self._info is not None:
            self._info.reachabilityChanged.connect(self._os_changed)

    def _os_changed(self, _reachability: Any) -> None:
        self.check_now()

    def os_says_offline(self) -> bool:
        info = self._info
        return info is not None and info.reachability() == QNetworkInformation.Reachability.\
            Disconnected

    def check_now(self) -> None:
        """Probe now (the next probe follows by itself)."""
        api = self._api()
        if self._probing or api is None or getattr(self._tasks, "closed", False):
            if api is None:
                self._timer.stop()
            return
        if self.os_says_offline():
            self._result(False)
            return
        self._probing = True
        self._tasks.run(API, api.ping, self._result, lambda _exc: self._result(False))

    def _result(self, online: Any) -> None:
        self._probing = False
        self.set_online(bool(online))
        self.checked.emit(bool(online))

    def set_online(self, online: bool) -> None:
        """What is known now (a probe's answer, or a feature's evidence: a request went
        through, or failed for want of a connection). Offline: probes come every
        ``offline_interval_ms`` until the service answers."""
        changed = online != self.online
        self.online = online
        if self._api() is not None and not getattr(self._tasks, "closed", False):
            interval = self.online_interval_ms if online else self.offline_interval_ms
            if changed or not self._timer.isActive():
                self._timer.start(interval)
        if changed:
            log.info("the service is %s", "reachable" if online else "not reachable")
            self.online_changed.emit(online)

    def forget(self) -> None:
        """A new connection (settings changed): not known again until the next probe."""
        self.online = None
        self._timer.stop()

    def stop(self) -> None:
        self._timer.stop()
