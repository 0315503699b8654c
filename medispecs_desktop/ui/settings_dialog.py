"""The Settings dialog: connection (API URL, region, user pool, app client, sign-in domain,
Cognito endpoint), uploads (files at once, parts in flight, bandwidth) and security (the idle
lock). Saved with ``core.config``; no secret is ever shown or stored here (the refresh token
lives in the OS keyring). "Import settings…" takes what IT hands out; whatever the
organisation's policy file fixes is shown read-only, "Set by your organisation"."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.config import (
    Paths,
    Settings,
    read_settings_file,
    require_secure_url,
    save_settings,
)
from medispecs_desktop.core.errors import ConfigurationError
from medispecs_desktop.core.formatting import plural
from medispecs_desktop.core.policy import Policy, load_policy
from medispecs_desktop.ui.icons import fit_height

REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
POOL_RE = re.compile(r"^[\w-]+_[0-9A-Za-z]+$")
CLIENT_RE = re.compile(r"^[\w+]+$")

CONNECTION_FIELDS = ("api_url", "region", "user_pool_id", "client_id", "auth_domain",
                     "cognito_endpoint")
UPLOAD_FIELDS = ("max_concurrent_files", "max_parts_in_flight", "bandwidth_limit_kbps")
LOCAL_FIELDS = (*UPLOAD_FIELDS, "allow_plaintext_keyring", "idle_timeout_minutes")
POLICY_NOTE = "Set by your organisation"
ERROR_LINES = 4  # the message area's fixed height, in lines (a wrapped problem and "and N more")


def summarise_problems(problems: list[str]) -> str:
    """The first problem, and how many more there are (each field's tooltip names its own):
    fits the fixed message area."""
    if len(problems) <= 1:
        return "".join(problems)
    more = len(problems) - 1
    return f"{problems[0]}\n(and {plural(more, 'more problem')}: see the red fields)"


def _valid_url(value: str) -> bool:
    parsed = urlparse(value)
    if not (parsed.scheme in ("http", "https") and parsed.netloc):
        return False
    try:
        require_secure_url(value, "address")  # http:// only to this computer
    except ConfigurationError:
        return False
    return True


def validate(values: dict[str, str]) -> dict[str, str]:
    """Field name -> problem, for the connection fields (empty dict when all is well)."""
    problems: dict[str, str] = {}
    if values["api_url"] and not _valid_url(values["api_url"]):
        problems["api_url"] = (
            "The API URL must start with https:// (http:// only for a stack on this computer).")
    if values["region"] and not REGION_RE.match(values["region"]):
        problems["region"] = "The region looks like ap-southeast-1 or eu-west-2."
    if values["user_pool_id"] and not POOL_RE.match(values["user_pool_id"]):
        problems["user_pool_id"] = "A user pool id looks like ap-southeast-1_AbC123xyz."
    elif (values["user_pool_id"] and values["region"]
          and not values["user_pool_id"].startswith(values["region"] + "_")
          and not values["cognito_endpoint"]):
        problems["user_pool_id"] = (
            f"The user pool id should start with the region ({values['region']}_…).")
    if values["client_id"] and not CLIENT_RE.match(values["client_id"]):
        problems["client_id"] = "The app client id has only letters and digits."
    if values.get("auth_domain") and not _valid_url(values["auth_domain"]):
        problems["auth_domain"] = (
            "The sign-in domain must be an https:// address (from your IT team).")
    if values["cognito_endpoint"] and not _valid_url(values["cognito_endpoint"]):
        problems["cognito_endpoint"] = (
            "The Cognito endpoint must be an https:// URL (leave it empty on AWS).")
    return problems


class SettingsDialog(QDialog):
    """Edits a copy of the settings; on Save writes them and emits :attr:`saved`.

    In demo mode the connection comes from the local stack: those fields are read-only and
    only the upload settings are saved (the saved connection is left as it was).
    """

    saved = Signal(object)  # the new effective Settings
    import_requested = Signal()

    def __init__(self, settings: Settings, paths: Paths, parent: QWidget | None = None, *,
                 policy: Policy | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._paths = paths
        try:
            self._policy = policy if policy is not None else load_policy()
        except ConfigurationError:  # the app already said so at start
            self._policy = Policy()
        self.policy_notes: dict[str, QLabel] = {}
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.setMinimumWidth(560)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 12)
        outer.setSpacing(12)
        # the sections scroll on a short screen (1280x720: the dialog was taller than the screen
        # and its buttons were off it); the message area and Save/Cancel always stay in view
        body = QWidget()
        body.setObjectName("settingsBody")
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        self.sections = QScrollArea()
        self.sections.setObjectName("settingsScroll")
        self.sections.setAccessibleName("Settings")
        self.sections.setWidgetResizable(True)
        self.sections.setFrameShape(QFrame.Shape.NoFrame)
        self.sections.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sections.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.sections.setWidget(body)
        outer.addWidget(self.sections, 1)

        connection = QGroupBox("Connection")
        connection_layout = QVBoxLayout(connection)
        form = QFormLayout()
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        connection_layout.addLayout(form)
        self.fields: dict[str, QLineEdit] = {}
        rows = (
            ("api_url", "API &URL", "https://abc123.execute-api.ap-southeast-1.amazonaws.com"),
            ("region", "&Region", "ap-southeast-1"),
            ("user_pool_id", "User &pool id", "ap-southeast-1_AbC123xyz"),
            ("client_id", "App &client id", "1h57kf5cpq17m0eml12EXAMPLE"),
            ("auth_domain", "Sign-in &domain",
             "optional: https://…auth….amazoncognito.com (single sign-on)"),
            ("cognito_endpoint", "Cognito &endpoint", "optional: only for a test stack"),
        )
        for name, label, placeholder in rows:
            edit = QLineEdit(str(getattr(settings, name)))
            edit.setObjectName(name)
            edit.setPlaceholderText(placeholder)
            edit.setReadOnly(settings.demo)
            edit.textChanged.connect(self._revalidate)
            self.fields[name] = edit
            form.addRow(label, self._row(name, edit))
        self.import_button = QPushButton("Import settings…")
        self.import_button.setObjectName("importSettings")
        self.import_button.setToolTip("Take the settings file or link your IT team gave you.")
        self.import_button.setEnabled(not settings.demo)
        self.import_button.clicked.connect(self._import_clicked)
        form.addRow("", self.import_button)
        hint = QLabel(
            "Your IT team has these values (they come from the deployment's outputs). "
            "Environment variables MEDISPECS_API_URL, MEDISPECS_REGION, MEDISPECS_USER_POOL_ID, "
            "MEDISPECS_CLIENT_ID and MEDISPECS_COGNITO_ENDPOINT override them.")
        if settings.demo:
            hint.setText("Demo: the connection points at the local stack started with the app "
                         "and is not saved. Upload settings are saved.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        connection_layout.addWidget(hint)
        layout.addWidget(connection)

        uploads = QGroupBox("Uploads")
        form2 = QFormLayout(uploads)
        self.max_files = QSpinBox()
        self.max_files.setObjectName("max_concurrent_files")
        self.max_files.setRange(1, 8)
        self.max_files.setValue(settings.max_concurrent_files)
        self.max_files.setToolTip("How many files upload at the same time.")
        self.max_parts = QSpinBox()
        self.max_parts.setObjectName("max_parts_in_flight")
        self.max_parts.setRange(1, 16)
        self.max_parts.setValue(settings.max_parts_in_flight)
        self.max_parts.setToolTip("How many parts of one file are sent in parallel.")
        self.bandwidth = QSpinBox()
        self.bandwidth.setObjectName("bandwidth_limit_kbps")
        self.bandwidth.setRange(0, 10_000_000)
        self.bandwidth.setSingleStep(1000)
        self.bandwidth.setSuffix(" kbit/s")
        self.bandwidth.setSpecialValueText("Unlimited")
        self.bandwidth.setValue(settings.bandwidth_limit_kbps)
        self.bandwidth.setToolTip("Cap the upload speed (e.g. on a shared hospital network).")
        form2.addRow("Files at &once", self._row("max_concurrent_files", self.max_files))
        form2.addRow("Parts in &flight per file",
                     self._row("max_parts_in_flight", self.max_parts))
        form2.addRow("&Bandwidth limit", self._row("bandwidth_limit_kbps", self.bandwidth))
        layout.addWidget(uploads)

        security = QGroupBox("Security")
        form4 = QFormLayout(security)
        self.idle_timeout = QSpinBox()
        self.idle_timeout.setObjectName("idle_timeout_minutes")
        self.idle_timeout.setRange(0, 240)
        self.idle_timeout.setSuffix(" min")
        self.idle_timeout.setSpecialValueText("Never")
        self.idle_timeout.setValue(settings.idle_timeout_minutes)
        self.idle_timeout.setToolTip("Lock MediSpecs after this many minutes without use; "
                                     "unlocking asks you to sign in again.")
        form4.addRow("&Lock when idle for", self._row("idle_timeout_minutes",
                                                       self.idle_timeout))
        layout.addWidget(security)

        advanced = QGroupBox("Advanced")
        form3 = QFormLayout(advanced)
        self.allow_plaintext = QCheckBox("Allow a plain-text token file (headless/CI only)")
        self.allow_plaintext.setToolTip(
            "Only when this computer has no secure keyring (Keychain, Credential Manager, "
            "Secret Service): keep the sign-in in a private file readable by you alone. "
            "Same as MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1.")
        self.allow_plaintext.setObjectName("allow_plaintext_keyring")
        self.allow_plaintext.setChecked(settings.allow_plaintext_keyring)
        form3.addRow(self._row("allow_plaintext_keyring", self.allow_plaintext))
        layout.addWidget(advanced)

        # the message area keeps its place and height whether it shows a problem or not:
        # the dialog does not grow while typing and Save stays where it was
        self.error = QLabel()
        self.error.setObjectName("errorMessage")
        self.error.setWordWrap(True)
        self.error.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._size_message_area()
        keep = self.error.sizePolicy()
        keep.setRetainSizeWhenHidden(True)
        self.error.setSizePolicy(keep)
        self.error.hide()
        outer.addWidget(self.error)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self._revalidate()

    def _row(self, name: str, widget: QWidget) -> QWidget:
        """``widget``, read-only with a note when the organisation's policy fixes ``name``."""
        if not self._policy.fixes(name):
            return widget
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        widget.setEnabled(False)
        widget.setToolTip(f"{POLICY_NOTE} (policy file {self._policy.path}).")
        note = QLabel(POLICY_NOTE)
        note.setObjectName("policyNote")
        row.addWidget(widget, 1)
        row.addWidget(note)
        self.policy_notes[name] = note
        return box

    def locked(self, name: str) -> bool:
        return name in self.policy_notes

    def _import_clicked(self) -> None:
        self.import_requested.emit()
        self.reject()

    def values(self) -> dict[str, str]:
        return {name: edit.text().strip() for name, edit in self.fields.items()}

    def _revalidate(self) -> dict[str, str]:
        problems = {} if self._settings.demo else validate(self.values())
        for name, edit in self.fields.items():
            edit.setProperty("invalid", name in problems)
            edit.setToolTip(problems.get(name) or (POLICY_NOTE if self.locked(name) else ""))
            edit.style().unpolish(edit)
            edit.style().polish(edit)
        if problems:
            self.error.setText(summarise_problems(list(problems.values())))
        self.error.setVisible(bool(problems))
        self.save_button.setEnabled(not problems)
        return problems

    def _size_message_area(self) -> None:
        """Room for ERROR_LINES lines in the message area's style (padding, border)."""
        probe = QLabel("\n".join(["Xg"] * ERROR_LINES))
        probe.setObjectName(self.error.objectName())
        probe.ensurePolished()
        self.error.setFixedHeight(probe.sizeHint().height())

    def showEvent(self, event: QShowEvent) -> None:
        self._size_message_area()  # the style sheet is applied by now
        super().showEvent(event)
        fit_height(self)  # the wrapped hint squeezed the connection rows together
        self._fit_screen()

    def _fit_screen(self) -> None:
        """Never taller than the screen's free area: the sections scroll instead."""
        screen = self.screen()
        if screen is None:
            return
        available = screen.availableGeometry()
        frame = self.frameGeometry().height() - self.geometry().height()
        limit = max(self.minimumSizeHint().height(), available.height() - frame)
        # a scroll area's size hint stops well short of its content: grow until the sections
        # need no scrolling, or the screen ends
        body = self.sections.widget()
        hidden = body.sizeHint().height() - self.sections.viewport().height() if body else 0
        wanted = self.height() + max(0, hidden)
        if self.height() != min(wanted, limit):
            self.resize(self.width(), min(wanted, limit))
        if not available.contains(self.frameGeometry()):
            self.move(self.x(), max(available.top(), min(self.y(), available.bottom()
                                                          - self.frameGeometry().height())))

    def edited_settings(self) -> Settings:
        """The settings as edited (the effective ones, for the running app)."""
        upload_values = {
            "max_concurrent_files": self.max_files.value(),
            "max_parts_in_flight": self.max_parts.value(),
            "bandwidth_limit_kbps": self.bandwidth.value(),
            "allow_plaintext_keyring": self.allow_plaintext.isChecked(),
            "idle_timeout_minutes": self.idle_timeout.value(),
        }
        if self._settings.demo:
            return self._settings.with_overrides(**upload_values)
        return self._settings.with_overrides(**self.values(), **upload_values, demo=False)

    def _save(self) -> None:
        if self._revalidate():
            return
        try:
            effective = self.edited_settings()
            stored = read_settings_file(self._paths)
            names = LOCAL_FIELDS if self._settings.demo else tuple(effective.to_dict())
            # in the demo the user's own connection stays in the file; what the policy fixes
            # stays as the file had it (the policy applies on top, and may be lifted later)
            stored.update({name: getattr(effective, name) for name in names
                           if not self._policy.fixes(name)})
            save_settings(Settings().with_overrides(**stored), self._paths)
        except (ConfigurationError, OSError) as exc:
            self.error.setText(f"The settings could not be saved: {exc}")
            self.error.setToolTip(str(exc))
            self.error.show()
            return
        self.saved.emit(effective)
        self.accept()
