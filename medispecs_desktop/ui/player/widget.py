"""PlayerWidget: the view over a PlayerController (video, seek bar, buttons, shortcuts)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QInputEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.formatting import format_ms
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.icons import icon as named_icon
from medispecs_desktop.ui.player.common import (
    BIG_STEP_MS,
    ICON_SIZE,
    RATES,
    SHORTCUTS,
    SMALL_STEP_MS,
)
from medispecs_desktop.ui.player.controller import PlayerController
from medispecs_desktop.ui.player.frames import describe_frame
from medispecs_desktop.ui.player.preview import SeekPreview
from medispecs_desktop.ui.player.seekbar import SeekBar
from medispecs_desktop.ui.player.zoom import PAN_STEP, ZoomableVideo
from medispecs_desktop.ui.tasks import Throttled

log = logging.getLogger(__name__)

SCRUB_INTERVAL_MS = 80  # live seeks while dragging the seek bar: ~12 pictures a second
CONTROLS_HIDE_MS = 2_500  # in full screen the controls go after this long without input
EMPTY_HINT = ("Double-click a recording to play it here\n"
              "(or select it and press Enter)")
SPEED_STYLE = "QComboBox { font-weight: bold; color: white; background: #b35c00; }"


class PlayerWidget(QWidget):
    """Video + controls over a :class:`PlayerController`."""

    markRequested = Signal()  # M: the markers panel (when there is one) takes it from here

    def __init__(self, controller: PlayerController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._slider_dragging = False
        self._k_held = False
        app = QApplication.instance()
        if app is not None:  # K's release may reach any widget: watch for it app-wide
            app.installEventFilter(self)
        self._fullscreen_home: tuple[QWidget, int] | None = None

        # the picture, with zoom and pan (+ / - / 0, the wheel, dragging when zoomed in)
        self.video_widget = ZoomableVideo()
        self.video_widget.setMinimumSize(320, 180)
        self.video_widget.setAccessibleName("Video")
        # backward play scales its frames to the picture's size on screen
        controller.reverse.display_width = lambda: round(
            self.video_widget.width() * self.video_widget.devicePixelRatioF())
        controller.set_video_output(self.video_widget.item)
        self.video_widget.doubleClicked.connect(self.toggle_fullscreen)
        self.video_widget.setMouseTracking(True)
        self.video_widget.viewport().setMouseTracking(True)
        self.video_widget.pointerMoved.connect(self.show_controls)
        # full screen: the controls hide after a while without mouse or keys, and come back
        # with the next movement or key press
        self.controls_hide_ms = CONTROLS_HIDE_MS
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.timeout.connect(self._hide_controls)

        self.title_label = QLabel("No recording open")
        # where the picture comes from when it is not the cloud (local first)
        self.source_label = QLabel("")
        self.source_label.setObjectName("playerSource")
        self.source_label.setStyleSheet("color: #1b7a2f;")
        self.source_label.setVisible(False)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setVisible(False)
        self.retry_button = QPushButton("Try again")
        self.retry_button.setVisible(False)

        # resume offer
        self.resume_bar = QWidget()
        resume_layout = QHBoxLayout(self.resume_bar)
        resume_layout.setContentsMargins(0, 0, 0, 0)
        self.resume_label = QLabel("")
        self.resume_button = QPushButton("Resume")
        self.start_over_button = QPushButton("Start over")
        resume_layout.addWidget(self.resume_label, 1)
        resume_layout.addWidget(self.resume_button)
        resume_layout.addWidget(self.start_over_button)
        self.resume_bar.setVisible(False)
        self._resume_ms = 0

        # controls
        style = self.style()
        self.play_button = QToolButton()
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space; L plays, K pauses, J plays backwards)")
        c = controller
        self.back_big = self._button(
            "−30 s", "Back 30 seconds (Shift+←)", lambda: c.skip(-BIG_STEP_MS))
        self.back_small = self._button(
            "−5 s", "Back 5 seconds (←)", lambda: c.skip(-SMALL_STEP_MS)
        )
        self.frame_back = self._icon_button(
            "frame-back", "Previous frame (,)", lambda: c.step_frames(-1))
        self.frame_forward = self._icon_button(
            "frame-forward", "Next frame (.)", lambda: c.step_frames(1))
        self.forward_small = self._button(
            "+5 s", "Forward 5 seconds (→)", lambda: c.skip(SMALL_STEP_MS)
        )
        self.forward_big = self._button(
            "+30 s", "Forward 30 seconds (Shift+→)", lambda: c.skip(BIG_STEP_MS)
        )
        self.slider = SeekBar()
        # while dragging, the picture follows: at most one seek per interval, the last wins
        self._scrub = Throttled(self._scrub_to, SCRUB_INTERVAL_MS, self)
        self._resume_after_drag = False
        self.slider.setAccessibleName("Position")
        # hovering the bar shows a small picture of that moment with its time
        self.preview = SeekPreview(controller, self.slider, controller.tasks, self)
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # wide enough for "h:mm:ss / h:mm:ss" from the start: the text never truncates and
        # the slider does not jump when an hour-long recording opens
        self.time_label.setMinimumWidth(
            self.time_label.fontMetrics().horizontalAdvance("00:00:00 / 00:00:00") + 4)
        self.time_label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        # frame number and exact time of the frame on screen instead of whole seconds
        self.frame_mode = False
        self._shown: tuple[int, int] | None = None  # (frame number, start µs)
        self.time_mode_button = self._button(
            "#", "Show frame numbers and exact times (T)", self.toggle_time_display)
        self.time_mode_button.setCheckable(True)
        self.speed = QComboBox()
        for rate in RATES:
            self.speed.addItem(f"{rate:g}×", rate)
        self.speed.setCurrentIndex(RATES.index(1.0))
        self.speed.setToolTip("Playback speed ([ slower, ] faster)")
        self.mute_button = QToolButton()
        self.mute_button.setCheckable(True)
        self.mute_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume))
        self.mute_button.setToolTip("Mute (Shift+M)")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(round(controller.audio.volume() * 100))
        self.volume.setMinimumWidth(60)  # squeezed to its handle it looks like a checkbox
        self.volume.setMaximumWidth(110)
        self.volume.setToolTip("Volume")
        self.volume.setAccessibleName("Volume")
        self.fullscreen_button = self._icon_button(
            "fullscreen", "Full screen (F)", self.toggle_fullscreen)
        self.help_button = self._icon_button(
            "keyboard", "Keyboard shortcuts (?)", self.toggle_help)
        self.play_button.setAccessibleName("Play")
        self.mute_button.setAccessibleName("Mute")
        for button in (self.play_button, self.mute_button):
            button.setIconSize(ICON_SIZE)
            button.setAutoRaise(True)

        # the seek slider has a full-width row of its own above the buttons
        seek_row = QHBoxLayout()
        seek_row.addWidget(self.slider, 1)
        seek_row.addWidget(self.time_label)
        seek_row.addWidget(self.time_mode_button)
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for w in (self.play_button, self.back_big, self.back_small, self.frame_back,
                  self.frame_forward, self.forward_small, self.forward_big):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.speed)
        buttons.addWidget(self.mute_button)
        buttons.addWidget(self.volume)
        buttons.addWidget(self.fullscreen_button)
        buttons.addWidget(self.help_button)
        # one widget for the bar: compact buttons, so the player leaves the library its room
        self.control_bar = QWidget()
        self.control_bar.setObjectName("playerControls")
        self.control_bar.setStyleSheet("QToolButton { padding: 3px 4px; }")
        controls = QVBoxLayout(self.control_bar)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(2)
        controls.addLayout(seek_row)
        controls.addLayout(buttons)

        # help overlay (on top of the video)
        # A frameless tool window: video surfaces are native and would hide a child widget.
        self.help_overlay = QLabel(self.shortcut_help_text(), self)
        self.help_overlay.setWindowFlags(
            Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
        )
        self.help_overlay.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.help_overlay.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.help_overlay.setTextFormat(Qt.TextFormat.RichText)
        self.help_overlay.setStyleSheet(
            "background: rgba(20,20,20,215); color: white; padding: 12px; border-radius: 6px;"
        )
        self.help_overlay.setVisible(False)

        # the empty player says how to fill it, in the picture itself (over the black area;
        # the picture is a graphics item, not a native surface, so a sibling shows on top)
        self.empty_hint = QLabel(EMPTY_HINT)
        self.empty_hint.setObjectName("playerEmptyHint")
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setStyleSheet("color: #c8c8c8; background: transparent; padding: 12px;")
        self.empty_hint.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.empty_hint.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        video_area = QWidget()
        grid = QGridLayout(video_area)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.video_widget, 0, 0)
        grid.addWidget(self.empty_hint, 0, 0)
        self.empty_hint.raise_()
        self.empty_hint.setVisible(controller.video is None)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title_label, 1)
        title_row.addWidget(self.source_label)
        layout.addLayout(title_row)
        layout.addWidget(self.resume_bar)
        layout.addWidget(video_area, 1)
        msg = QHBoxLayout()
        msg.addWidget(self.message_label, 1)
        msg.addWidget(self.retry_button)
        layout.addLayout(msg)
        layout.addWidget(self.control_bar)

        self.actions_by_name: dict[str, QAction] = {}
        handlers: dict[str, Callable[[], None]] = {
            "toggle": controller.toggle,
            "back_small": lambda: controller.skip(-SMALL_STEP_MS),
            "forward_small": lambda: controller.skip(SMALL_STEP_MS),
            "back_big": lambda: controller.skip(-BIG_STEP_MS),
            "forward_big": lambda: controller.skip(BIG_STEP_MS),
            "frame_back": lambda: controller.step_frames(-1),
            "frame_forward": lambda: controller.step_frames(1),
            "slower": controller.slower,
            "faster": controller.faster,
            "fullscreen": self.toggle_fullscreen,
            "mute": controller.toggle_mute,
            "mark": self.markRequested.emit,
            "loop_start": controller.set_loop_start,
            "loop_end": controller.set_loop_end,
            "loop_clear": controller.clear_loop,
            "zoom_in": self.video_widget.zoom_in,
            "zoom_out": self.video_widget.zoom_out,
            "zoom_reset": self.video_widget.reset_zoom,
            "pan_left": lambda: self.video_widget.pan(-PAN_STEP, 0),
            "pan_right": lambda: self.video_widget.pan(PAN_STEP, 0),
            "pan_up": lambda: self.video_widget.pan(0, -PAN_STEP),
            "pan_down": lambda: self.video_widget.pan(0, PAN_STEP),
            "help": self.toggle_help,
            "time_display": self.toggle_time_display,
            "shuttle_forward": lambda: self._shuttle(1),
            "shuttle_stop": self._k_pressed,
            "shuttle_back": lambda: self._shuttle(-1),
            "escape": self._escape,
        }
        for keys, text, name in SHORTCUTS:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(handlers[name])
            self.addAction(action)
            self.actions_by_name[name] = action

        # wiring
        self.play_button.clicked.connect(controller.toggle)
        self.slider.sliderPressed.connect(self._slider_pressed)
        self.slider.sliderReleased.connect(self._slider_released)
        self.slider.sliderMoved.connect(self._slider_moved)
        self.slider.actionTriggered.connect(self._slider_action)
        self.speed.activated.connect(lambda i: controller.set_rate(float(self.speed.itemData(i))))
        self.mute_button.toggled.connect(lambda on: controller.audio.setMuted(on))
        self.volume.valueChanged.connect(lambda v: controller.set_volume(v / 100.0))
        self.retry_button.clicked.connect(controller.retry)
        self.resume_button.clicked.connect(self._resume)
        self.start_over_button.clicked.connect(lambda: self.resume_bar.setVisible(False))

        controller.positionChanged.connect(self._on_position)
        controller.frameShown.connect(self._on_frame_shown)
        controller.loopChanged.connect(self.slider.set_loop)
        controller.durationChanged.connect(self._on_duration)
        controller.stateChanged.connect(self._on_state)
        controller.message.connect(self._on_message)
        if controller.unavailable:
            self._on_message("error", controller.unavailable)
        controller.resumeOffered.connect(self._on_resume_offered)
        controller.videoChanged.connect(self._on_video)
        controller.titleChanged.connect(self.title_label.setText)
        controller.sourceChanged.connect(self._on_source)
        controller.rateChanged.connect(self._on_rate)
        controller.mutedChanged.connect(self._on_muted)
        controller.volumeChanged.connect(lambda v: self._set_quietly(self.volume, round(v * 100)))
        self._update_enabled()

    def set_markers(self, times_ms: list[int]) -> None:
        """Marker ticks on the seek bar."""
        self.slider.set_markers(times_ms)

    # -- J / K / L -----------------------------------------------------------------------

    def _k_pressed(self) -> None:
        self._k_held = True  # until K is released (see eventFilter)
        self.controller.pause()

    def _shuttle(self, direction: int) -> None:
        """J / L: with K held, one frame back / on; otherwise the shuttle."""
        if self._k_held:
            self.controller.step_frames(direction)
        elif direction > 0:
            self.controller.shuttle_forward()
        else:
            self.controller.shuttle_back()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # every event of the app passes here: only input events (and, while K is held, the
        # app losing focus) matter, and an isinstance costs ~0.15 us where event.type() costs
        # 0.5-4 us (see ui/gui_gc.py)
        if isinstance(event, QInputEvent):
            kind = event.type()
            if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride,
                        QEvent.Type.MouseMove) and self.is_fullscreen:
                self.show_controls()
            if kind == QEvent.Type.KeyRelease and isinstance(event, QKeyEvent) \
                    and event.key() == Qt.Key.Key_K and not event.isAutoRepeat():
                self._k_held = False
        elif self._k_held and event.type() == QEvent.Type.ApplicationDeactivate:
            self._k_held = False  # the release may go to another application
        return False

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def _icon_button(self, name: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        """An icon-only button; the tooltip (and the accessible name) say what it does and
        its shortcut, the text is for screen readers and a missing icon file."""
        button = self._button(tip.split(" (")[0], tip, slot)
        button.setIcon(named_icon(name))
        button.setIconSize(ICON_SIZE)
        button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonIconOnly if not button.icon().isNull()
            else Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    # -- help ------------------------------------------------------------------------------

    @staticmethod
    def shortcut_help() -> list[tuple[str, str]]:
        return [(" / ".join(keys), text) for keys, text, _name in SHORTCUTS]

    def shortcut_help_text(self) -> str:
        rows = "".join(
            f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{text}</td></tr>"
            for keys, text in self.shortcut_help()
        )
        return f"<b>Keyboard shortcuts</b><table>{rows}</table>"

    def toggle_help(self) -> None:
        overlay = self.help_overlay
        if overlay.isVisible():
            overlay.hide()
            return
        overlay.adjustSize()
        centre = self.video_widget.mapToGlobal(self.video_widget.rect().center())
        overlay.move(centre.x() - overlay.width() // 2, centre.y() - overlay.height() // 2)
        overlay.show()
        overlay.raise_()

    def hideEvent(self, event: QHideEvent) -> None:
        self.help_overlay.hide()  # a separate tool window: it must not linger alone
        super().hideEvent(event)

    def _escape(self) -> None:
        if self.help_overlay.isVisible():
            self.help_overlay.setVisible(False)
        elif self.is_fullscreen:
            self.toggle_fullscreen()

    @property
    def is_fullscreen(self) -> bool:
        return self._fullscreen_home is not None or (
            self.isWindow() and self.isFullScreen()
        )

    def toggle_fullscreen(self) -> None:
        """The player alone fills the screen (it leaves its place in the window and comes
        back to it); Esc or F again restores it. The video keeps playing throughout."""
        self._toggle_fullscreen()
        full = self.is_fullscreen
        self.fullscreen_button.setIcon(named_icon("fullscreen-exit" if full else "fullscreen"))
        self.fullscreen_button.setToolTip("Leave full screen (F, F11, Esc)" if full
                                          else "Full screen (F, F11, double-click)")
        self.show_controls()

    @property
    def controls_visible(self) -> bool:
        return not self.control_bar.isHidden()

    def show_controls(self) -> None:
        """Bring the controls back (any input); in full screen they hide again later."""
        if self.control_bar.isHidden():
            self.control_bar.show()
            self.title_label.show()
            self.video_widget.viewport().unsetCursor()
        if self.is_fullscreen:
            self._hide_timer.start(self.controls_hide_ms)
        else:
            self._hide_timer.stop()

    def _hide_controls(self) -> None:
        if not self.is_fullscreen or self.help_overlay.isVisible() or self._slider_dragging:
            return
        self.control_bar.hide()
        self.title_label.hide()
        self.video_widget.viewport().setCursor(Qt.CursorShape.BlankCursor)

    def _toggle_fullscreen(self) -> None:
        if self._fullscreen_home is not None:
            parent, index = self._fullscreen_home
            self._fullscreen_home = None
            self.showNormal()
            layout = parent.layout()
            self.setParent(parent)
            if isinstance(layout, QBoxLayout):
                layout.insertWidget(max(0, index), self)
            elif layout is not None:
                layout.addWidget(self)
            self.show()
            self.setFocus()
            return
        current = self.parentWidget()
        if current is None:  # already a window of its own
            if self.isFullScreen():
                self.showNormal()
            else:
                self.showFullScreen()
            return
        layout = current.layout()
        index = layout.indexOf(self) if layout is not None else -1
        self._fullscreen_home = (current, index)
        screen = current.window().screen()
        self.setParent(None)
        if screen is not None:
            # the screen the window is on, and its whole area even where no window manager
            # honours the full-screen state (kiosk sessions, X without a WM)
            self.setScreen(screen)
            self.setGeometry(screen.geometry())
        self.showFullScreen()
        self.activateWindow()
        self.setFocus()

    # -- controller -> widgets -------------------------------------------------------------

    def _on_video(self, video: Video | None) -> None:
        self.title_label.setText(video.title if video is not None else "No recording open")
        self.empty_hint.setVisible(video is None)
        self.source_label.setVisible(False)
        self.resume_bar.setVisible(False)
        self._set_quietly(self.slider, 0)
        self._shown = None
        if video is None:  # closed: Qt keeps reporting the old length, show none
            self.slider.setRange(0, 0)
            self.time_label.setText(f"{format_ms(0)} / {format_ms(0)}")
        self._update_enabled()

    def _on_source(self, source: str) -> None:
        local = source == "local"
        self.source_label.setText("Playing the copy on this computer" if local else "")
        self.source_label.setToolTip(
            "This recording plays from its file on this computer or card (still in the "
            "upload queue), not from the cloud." if local else "")
        self.source_label.setVisible(local)

    def _on_position(self, position: int) -> None:
        if not self._slider_dragging:
            self._set_quietly(self.slider, position)
        self._update_time(position)

    def _on_duration(self, duration: int) -> None:
        self.slider.setRange(0, max(0, duration))
        self.slider.setPageStep(max(1000, duration // 20))
        self._update_time(self.controller.position)

    def _update_time(self, position: int) -> None:
        total = format_ms(self.controller.duration)
        shown = self._shown
        if self.frame_mode and shown is not None and not self._slider_dragging:
            self.time_label.setText(f"{describe_frame(*shown)} / {total}")
        elif self.frame_mode:
            self.time_label.setText(f"{describe_frame(-1, position * 1000)} / {total}")
        else:
            self.time_label.setText(f"{format_ms(position)} / {total}")

    def _on_frame_shown(self, number: int, start_us: int) -> None:
        self._shown = (number, start_us)
        if self.frame_mode:
            self._update_time(self.controller.position)

    def toggle_time_display(self) -> None:
        """Whole seconds, or the frame number and exact time of the frame on screen."""
        self.frame_mode = not self.frame_mode
        self._set_quietly(self.time_mode_button, self.frame_mode)
        sample = "Frame 00000 · 00:00:00.000 / 00:00:00" if self.frame_mode \
            else "00:00:00 / 00:00:00"
        self.time_label.setMinimumWidth(
            self.time_label.fontMetrics().horizontalAdvance(sample) + 4)
        self._update_time(self.controller.position)

    def _on_state(self, state: str) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause
            if state == "playing"
            else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.retry_button.setVisible(state == "error" and self.controller.video is not None
                                     and self.controller.video.has_bytes)
        self._update_enabled()

    def _on_message(self, kind: str, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        self.message_label.setStyleSheet("color: #b00020;" if kind == "error" else "")

    def _on_resume_offered(self, position: int) -> None:
        self._resume_ms = position
        self.resume_label.setText(f"You stopped at {format_ms(position)} last time.")
        self.resume_bar.setVisible(True)

    def _resume(self) -> None:
        self.resume_bar.setVisible(False)
        self.controller.resume_at(self._resume_ms)

    def _on_rate(self, rate: float) -> None:
        for i in range(self.speed.count()):
            if abs(float(self.speed.itemData(i)) - rate) < 1e-6:
                self._set_quietly(self.speed, i)
        # not 1×: the speed stands out, so a slow or fast speed never goes unnoticed
        self.speed.setStyleSheet("" if abs(rate - 1.0) < 1e-6 else SPEED_STYLE)
        self.speed.setToolTip("Playback speed ([ slower, ] faster)" if abs(rate - 1.0) < 1e-6
                              else f"Playing at {rate:g}× ([ slower, ] faster)")

    def _on_muted(self, muted: bool) -> None:
        self._set_quietly(self.mute_button, muted)
        self.mute_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaVolumeMuted if muted
            else QStyle.StandardPixmap.SP_MediaVolume))

    def _update_enabled(self) -> None:
        has = self.controller.video is not None and self.controller.state not in ("idle",)
        for w in (self.play_button, self.back_big, self.back_small, self.frame_back,
                  self.frame_forward, self.forward_small, self.forward_big, self.slider,
                  self.speed):
            w.setEnabled(has)

    # -- slider ----------------------------------------------------------------------------

    def _slider_pressed(self) -> None:
        # a click jumps here at once (the bar moved its handle under the pointer); a drag
        # shows the picture as it goes, paused, and playback resumes on release
        self._slider_dragging = True
        self._resume_after_drag = self.controller.state == "playing"
        if self._resume_after_drag:
            self.controller.pause()
        self._scrub(self.slider.value())

    def _slider_moved(self, value: int) -> None:
        self._update_time(value)
        self._scrub(value)

    def _scrub_to(self, value: int) -> None:
        self.controller.seek(value)

    def _slider_released(self) -> None:
        self._slider_dragging = False
        self._scrub.cancel()
        self.controller.seek(self.slider.value())
        if self._resume_after_drag:
            self._resume_after_drag = False
            self.controller.play()

    def _slider_action(self, action: int) -> None:
        # page/step clicks on the groove (not drags): seek to where the slider will be
        if not self._slider_dragging and action != QSlider.SliderAction.SliderMove.value:
            QTimer.singleShot(0, lambda: self.controller.seek(self.slider.value()))

    @staticmethod
    def _set_quietly(widget: Any, value: Any) -> None:
        widget.blockSignals(True)
        try:
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(value)
            elif isinstance(widget, QToolButton):
                widget.setChecked(bool(value))
            else:
                widget.setValue(value)
        finally:
            widget.blockSignals(False)


