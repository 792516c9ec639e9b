"""The executables the lab needs that can be fetched safely, into a project-local folder.

`lab.py up` works on a machine with only Docker and Python: what is missing of kind and
the Pulumi CLI is fetched into `.tools/` in the project, pinned to one version, and put
first on PATH for the Pulumi run. Docker itself is never fetched (it is a daemon and needs
an installer with administrator rights).

- kind comes from its GitHub release (one static binary per platform). Its sha256 is
  checked before the file is made executable: against the table below where the
  published value is pinned, otherwise against the release's own `<asset>.sha256sum`
  file, fetched from the same release. The download goes to a temporary file in the
  target folder, is verified there, and is renamed into place in one step; any failure
  (network, truncated body, wrong checksum) removes the temporary file and any folder
  this made, so nothing half-installed is ever found on PATH.
- The Pulumi CLI is installed by the Automation API's own installer,
  `PulumiCommand.install(root=.tools/pulumi, version=<pinned>)`, which runs Pulumi's
  install script for that exact version.

Which copy is used is decided by the pins, not by PATH: a kind that is not KIND_VERSION
(kind supports a node image only with the release it was built for) and a Pulumi CLI
older than PULUMI_MINIMUM (see there), or in CI any Pulumi CLI but PULUMI_VERSION itself
(`in_ci`), are reported with their version and path, and the pinned one is fetched
instead; a tool whose version cannot be read counts as unknown and is replaced the same
way (`usable`, `read_version`).

Platform detection and the folder layout are pure functions of (os, arch), so every
platform is tested on any host.
"""

from __future__ import annotations

import hashlib
import os
import platform as _platform
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k8s_lab.runner import Runner, RunError

KIND_VERSION = "v0.23.0"
# The Pulumi CLI release of the SDK this project was tested with (requirements.txt allows
# newer SDKs): what lab.py fetches when no usable Pulumi CLI is found.
PULUMI_VERSION = "3.272.0"
# The oldest Pulumi CLI the lab accepts. What the program needs of the engine is older:
# `replacement_trigger` (k8s_lab/docker_diff.py) is honoured from v3.208.0
# (pulumi/pulumi#20936; an older engine ignores it, and a changed slot or networkMtu would
# never reach Docker). pulumi/pulumi#23818 (deletedWith cascade, first released in
# 3.260.0) is NOT needed: when a repair replaces the cluster, v3.259.0 already replaces
# what lives in it, the objects through their provider (a new `clusterIdentifier` makes
# DiffConfig replace it, and a resource whose provider is replaced is replaced:
# pkg/resource/deploy/step_generator.go:2798-2870 providerChanged, :2909-2914, at v3.259.0) and the
# commands through their `triggers`. The floor stays at 3.260.0 because the engine lines
# tests/readback_model.py cites were read at v3.259.0+14 (5cd93859e8, #23818 and #24387
# included), which first shipped in 3.260.0: no older engine has been checked against the
# model. A newer CLI than the pin is used as it is.
PULUMI_MINIMUM = "3.260.0"

KIND_RELEASE_URL = "https://github.com/kubernetes-sigs/kind/releases/download/{version}/{asset}"
PULUMI_INSTALLER_URLS = {
    "windows": "https://get.pulumi.com/install.ps1",
    "other": "https://get.pulumi.com/install.sh",
}

# kind v0.23.0's published sha256 per release asset, as its `<asset>.sha256sum` files give
# them (cross-checked in several independent pinned lists). kind-windows-amd64 is not in
# the table: its value could not be confirmed, so it is checked against the release's
# `.sha256sum` file at run time.
KIND_SHA256 = {
    "v0.23.0": {
        "kind-linux-amd64": "1d86e3069ffbe3da9f1a918618aecbc778e00c75f838882d0dfa2d363bc4a68c",
        "kind-linux-arm64": "a416d6c311882337f0e56910e4a2e1f8c106ec70c22cbf0ac1dd8f33c1e284fe",
        "kind-darwin-amd64": "81c77f104b4b668812f7930659dc01ad88fa4d1cfc56900863eacdfb2731c457",
        "kind-darwin-arm64": "68ec87c1e1ea2a708df883f4b94091150d19552d7b344e80ca59f449b301c2a0",
    },
    # kind v0.32.0 (the maintained row of k8s_lab/versions.py): the release's .sha256sum
    # files are not reachable from where this was written, so each value is one that
    # several independent public repositories pin and verify (Makefiles, install scripts,
    # CI workflows fetching from the release and running `sha256sum -c`), every platform in
    # at least three. A wrong value fails closed: the download is refused, nothing installed.
    "v0.32.0": {
        "kind-linux-amd64": "50030de23cf40a18505f20426f6a8506bedf13c6e509244bd1fa9463721b0f54",
        "kind-linux-arm64": "b92cd615e97585de8ddade28ed5cd7feb4248d717c233eea5b03c37298900f5d",
        "kind-darwin-amd64": "295ac6d0d634c9819c9907df45e3017d1f13166bd13c3404c45e79f7faa47498",
        "kind-darwin-arm64": "dca67911095a110c2b5c36e26df6cac860c602033e456c0db47be498cdef1ebb",
        "kind-windows-amd64": "0bcb2d1cfedc1912d664014db716937e8a0e843e91c6807b4db2025dbc8989fa",
    },
}
# The binaries kind publishes per release (there is no windows/arm64 build).
KIND_PLATFORMS = {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64"), ("windows", "amd64")}

MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024  # kind is ~10 MB; anything this large is wrong
MAX_CHECKSUM_BYTES = 4096
DOWNLOAD_TIMEOUT_SECONDS = 60.0
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FetchError(RuntimeError):
    """A tool could not be fetched and verified; nothing was left behind."""


class UnsupportedPlatform(FetchError):
    pass


# --- platform ---------------------------------------------------------------------------

_OS_NAMES = {"windows": "windows", "darwin": "darwin", "linux": "linux"}
_ARCH_NAMES = {"x86_64": "amd64", "amd64": "amd64", "x64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv8": "arm64"}


@dataclass(frozen=True)
class Platform:
    os: str  # windows | darwin | linux (or whatever else the host says, lower-cased)
    arch: str  # amd64 | arm64 (or the raw machine name)

    @property
    def windows(self) -> bool:
        return self.os == "windows"

    @property
    def exe_suffix(self) -> str:
        return ".exe" if self.windows else ""

    def __str__(self) -> str:
        return f"{self.os}/{self.arch}"


def detect_platform(system: str | None = None, machine: str | None = None) -> Platform:
    """`platform.system()` / `platform.machine()` in Go's names (kind's asset names)."""
    system = (system if system is not None else _platform.system()).strip().lower()
    machine = (machine if machine is not None else _platform.machine()).strip().lower()
    return Platform(_OS_NAMES.get(system, system), _ARCH_NAMES.get(machine, machine))


def kind_asset(plat: Platform) -> str:
    """The release asset's name: `kind-<os>-<arch>`, with no `.exe` even on Windows (the
    binary is renamed to kind.exe when installed)."""
    if (plat.os, plat.arch) not in KIND_PLATFORMS:
        raise UnsupportedPlatform(
            f"kind publishes no binary for {plat}; install kind yourself (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
        )
    return f"kind-{plat.os}-{plat.arch}"


def kind_command(version: str) -> str:
    """The name the lab's commands run kind `version` by (k8s_lab/kind_lifecycle.py Kind.locate)."""
    return "kind" if version == KIND_VERSION else f"kind-{version}"


def kind_command_version(command: str) -> str | None:
    """The kind release a command name stands for: KIND_VERSION for `kind`, v0.32.0 for
    `kind-v0.32.0`, None for any other tool."""
    if command == "kind":
        return KIND_VERSION
    return command.removeprefix("kind-") if command.startswith("kind-v") else None


def kind_url(plat: Platform, version: str = KIND_VERSION, base: str = KIND_RELEASE_URL) -> str:
    return base.format(version=version, asset=kind_asset(plat))


def pulumi_installer_url(plat: Platform) -> str:
    return PULUMI_INSTALLER_URLS["windows" if plat.windows else "other"]


@dataclass(frozen=True)
class ToolsLayout:
    """Where fetched tools live: `<root>/bin/kind[.exe]` and `<root>/pulumi/bin/pulumi[.exe]`
    (the layout Pulumi's installer makes under its install root)."""

    root: Path
    platform: Platform

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def kind(self) -> Path:
        return self.bin_dir / f"kind{self.platform.exe_suffix}"

    def kind_for(self, version: str) -> Path:
        """The seed's kind as `kind`, another row's release beside it as `kind-<version>`:
        two labs on one host may need two releases, each verified."""
        return self.kind if version == KIND_VERSION else self.bin_dir / f"{kind_command(version)}{self.platform.exe_suffix}"

    @property
    def pulumi_root(self) -> Path:
        return self.root / "pulumi"

    @property
    def pulumi_bin_dir(self) -> Path:
        return self.pulumi_root / "bin"

    @property
    def pulumi(self) -> Path:
        return self.pulumi_bin_dir / f"pulumi{self.platform.exe_suffix}"

    def path_entries(self) -> list[str]:
        return [str(self.bin_dir), str(self.pulumi_bin_dir)]


def path_with_tools(layout: ToolsLayout, path: str | None, pathsep: str = os.pathsep) -> str:
    """PATH with the tools folders first (each once), then the rest in its own order."""
    first = layout.path_entries()
    rest = [entry for entry in (path or "").split(pathsep) if entry and entry not in first]
    return pathsep.join(first + rest)


# --- download and verify ------------------------------------------------------------------

Opener = Callable[..., Any]  # urllib.request.urlopen's signature: (url, timeout=...) -> response


def _open(url: str, opener: Opener, timeout: float):
    try:
        return opener(url, timeout=timeout)
    except urllib.error.HTTPError as error:
        raise FetchError(f"{url} answered HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(
            f"could not reach {url} ({reason}). Check the network or proxy (HTTPS_PROXY); "
            "or install the tool yourself and run with --no-fetch"
        ) from error


def parse_sha256sum(text: str, asset: str) -> str:
    """The digest for `asset` from a `sha256sum`-style file (`<hex>  <name>` lines, or a
    bare digest)."""
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields:
            continue
        digest = fields[0].lower()
        name = fields[1].lstrip("*") if len(fields) > 1 else asset
        if Path(name).name == asset and _SHA256.match(digest):
            return digest
    raise FetchError(f"the checksum file for {asset} holds no sha256 for it")


def fetch_text(url: str, *, opener: Opener = urllib.request.urlopen, timeout: float = DOWNLOAD_TIMEOUT_SECONDS, limit: int = MAX_CHECKSUM_BYTES) -> str:
    with _open(url, opener, timeout) as response:
        try:
            body = response.read(limit + 1)
        except OSError as error:
            raise FetchError(f"reading {url} failed ({error})") from error
    if len(body) > limit:
        raise FetchError(f"{url} is larger than a checksum file can be")
    return body.decode("utf-8", "replace")


def _copy_hashed(response: Any, out: Any, url: str, max_bytes: int) -> tuple[int, Any]:
    """Copy `response` to `out` in chunks: (bytes received, their sha256), refusing more than `max_bytes`."""
    digest = hashlib.sha256()
    received = 0
    while True:
        try:
            chunk = response.read(64 * 1024)
        except OSError as error:  # includes http.client.IncompleteRead, socket timeouts
            raise FetchError(f"download of {url} broke off after {received} bytes ({error})") from error
        if not chunk:
            return received, digest
        received += len(chunk)
        if received > max_bytes:
            raise FetchError(f"{url} sent more than {max_bytes} bytes")
        digest.update(chunk)
        out.write(chunk)


def download_verified(
    url: str,
    dest: Path,
    sha256: str,
    *,
    opener: Opener = urllib.request.urlopen,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    mode: int = 0o755,
) -> Path:
    """Download `url` to `dest`: into a temporary file next to it, checking the length the
    server announced and the sha256, then given `mode` (executable by default) and renamed
    into place. On any failure the temporary file (and any folder made for it) is removed."""
    expected = sha256.strip().lower()
    if not _SHA256.match(expected):
        raise FetchError(f"not a sha256 digest: {sha256!r}")
    made = _make_parents(dest.parent)
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)  # mode 0600
        tmp = Path(name)
        with os.fdopen(fd, "wb") as out, _open(url, opener, timeout) as response:
            announced = response.headers.get("Content-Length")
            announced = int(announced) if announced and announced.isdigit() else None
            if announced is not None and announced > max_bytes:
                raise FetchError(f"{url} announces {announced} bytes, more than {max_bytes}")
            received, digest = _copy_hashed(response, out, url, max_bytes)
        if announced is not None and received != announced:
            raise FetchError(f"download of {url} is truncated: got {received} of {announced} bytes")
        actual = digest.hexdigest()
        if actual != expected:
            raise FetchError(
                f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}. "
                "Nothing was installed; try again, and if it persists, do not use this file"
            )
        # Verified: only now executable, then into place in one step.
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
        tmp = None
        return dest
    except BaseException:
        if tmp is not None:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        for folder in reversed(made):
            try:
                folder.rmdir()  # only if empty: never removes anything it did not make
            except OSError:
                break
        raise


def _make_parents(folder: Path) -> list[Path]:
    """Make `folder` and missing parents; return the ones made, outermost first."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    missing.reverse()
    for each in missing:
        each.mkdir()
    return missing


# --- the tools ---------------------------------------------------------------------------------


def kind_expected_sha256(
    plat: Platform,
    version: str = KIND_VERSION,
    *,
    url: str,
    pinned: Mapping[str, Mapping[str, str]] = KIND_SHA256,
    opener: Opener = urllib.request.urlopen,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
) -> tuple[str, str]:
    """(sha256, where it came from): the pinned value, or the release's `.sha256sum` file."""
    asset = kind_asset(plat)
    value = pinned.get(version, {}).get(asset)
    if value:
        return value, "pinned in k8s_lab/tools.py"
    checksum_url = f"{url}.sha256sum"
    return parse_sha256sum(fetch_text(checksum_url, opener=opener, timeout=timeout), asset), checksum_url


def install_kind(
    layout: ToolsLayout,
    *,
    version: str = KIND_VERSION,
    base_url: str = KIND_RELEASE_URL,
    pinned: Mapping[str, Mapping[str, str]] = KIND_SHA256,
    opener: Opener = urllib.request.urlopen,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
    log: Callable[[str], None] = print,
) -> Path:
    """Fetch kind `version` for the layout's platform into `layout.kind_for(version)`, verified."""
    url = kind_url(layout.platform, version, base_url)
    target = layout.kind_for(version)
    log(f"Fetching kind {version} ({layout.platform}) from {url}")
    log(f"  into {target}")
    expected, source = kind_expected_sha256(layout.platform, version, url=url, pinned=pinned, opener=opener, timeout=timeout)
    log(f"  sha256 {expected} ({source})")
    path = download_verified(url, target, expected, opener=opener, timeout=timeout)
    log(f"  verified and installed: {path}")
    return path


PulumiInstaller = Callable[[str, Any], Any]  # (root, version) -> PulumiCommand


def pulumi_install(root: str, version: Any):
    """The Automation API's installer (downloads Pulumi's install script and runs it for
    exactly `version` with `--install-root root`); returns the PulumiCommand."""
    from pulumi.automation import PulumiCommand

    return PulumiCommand.install(root=root, version=version)


def install_pulumi(
    layout: ToolsLayout,
    *,
    version: str = PULUMI_VERSION,
    installer: PulumiInstaller = pulumi_install,
    log: Callable[[str], None] = print,
):
    """Install the Pulumi CLI `version` under `layout.pulumi_root` with Pulumi's own
    installer; returns what the installer returns (a PulumiCommand)."""
    from semver import VersionInfo  # a dependency of the pulumi SDK

    log(f"Fetching the Pulumi CLI v{version} with Pulumi's installer ({pulumi_installer_url(layout.platform)})")
    log(f"  into {layout.pulumi_root}")
    try:
        command = installer(str(layout.pulumi_root), VersionInfo.parse(version))
    except Exception as error:  # noqa: BLE001 - the installer raises whatever its script does
        raise FetchError(
            f"installing the Pulumi CLI v{version} into {layout.pulumi_root} failed: {error}. Check the network or proxy "
            f"(HTTPS_PROXY; the installer reaches {pulumi_installer_url(layout.platform)} and github.com); or install the "
            f"Pulumi CLI v{PULUMI_MINIMUM} or newer yourself (https://www.pulumi.com/docs/iac/download-install/) and run "
            "with --no-fetch"
        ) from error
    log(f"  installed: {layout.pulumi}")
    return command


# --- which tools to use -------------------------------------------------------------------------------


Which = Callable[..., "str | None"]  # shutil.which(cmd, path=...)


def find_tool(name: str, layout: ToolsLayout, path: str | None, which: Which = shutil.which) -> str | None:
    """Where `name` is found with the tools folders first on PATH (as the Pulumi run sees it)."""
    return which(name, path=path_with_tools(layout, path))


def in_tools(found: str | None, layout: ToolsLayout) -> bool:
    if not found:
        return False
    folders = {os.path.normcase(os.path.abspath(entry)) for entry in layout.path_entries()}
    return os.path.normcase(os.path.dirname(os.path.abspath(found))) in folders


# --- which version a tool is, and whether the lab uses it ------------------------------------------

# `kind version` prints `kind v0.23.0 go1.21.10 linux/amd64`; `pulumi version` prints
# `v3.272.0` (pulumi/actions src/libs/pulumi-cli.ts reads it the same way); `docker version
# --format {{.Client.Version}}` prints `28.0.4`. The first x.y.z that is not part of a longer
# word (so not go1.21.10) is the tool's version; a pre-release suffix is kept, build metadata dropped.
VERSION_ARGS = {
    "docker": ("version", "--format", "{{.Client.Version}}"),
    "kind": ("version",),
    "pulumi": ("version",),
}
VERSION_TIMEOUT_SECONDS = 30.0
_VERSION = re.compile(r"(?<![\w.])v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?(?![\w.])")


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}" + (f"-{self.prerelease}" if self.prerelease else "")

    def at_least(self, other: Version) -> bool:
        """Ordered as semver orders releases: a pre-release comes before its release
        (v3.260.0-dev.0 is older than v3.260.0); pre-releases are not ordered among themselves."""
        return self._key() >= other._key()

    def _key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1)


def parse_version(text: str | None) -> Version | None:
    match = _VERSION.search(text or "")
    if not match:
        return None
    major, minor, patch, prerelease = match.groups()
    return Version(int(major), int(minor), int(patch), prerelease or "")


def read_version(command: str, path: str, runner: Runner) -> Version | None:
    """The version the executable at `path` says it is, or None when it does not say
    (does not start, fails without printing one, prints something else, hangs)."""
    try:
        result = runner.run(
            [path, *VERSION_ARGS["kind" if kind_command_version(command) else command]],
            env={"PULUMI_SKIP_UPDATE_CHECK": "true"},  # `pulumi version` would otherwise ask the network
            timeout=VERSION_TIMEOUT_SECONDS,
            check=False,
        )
    except RunError:
        return None
    return parse_version(result.stdout)


# Set by GitHub Actions and most CI services. CI must test the engine the pin names, not
# whichever newer CLI its runner image happens to carry (ubuntu-24.04 installs the newest
# Pulumi at image build time), so there the Pulumi CLI must be exactly PULUMI_VERSION.
CI_VARIABLES = ("CI", "GITHUB_ACTIONS")


def in_ci(environ: Mapping[str, str]) -> bool:
    """Whether this runs in CI: CI or GITHUB_ACTIONS set to anything but empty, 0 or false."""
    return any(environ.get(name, "").strip().lower() not in ("", "0", "false") for name in CI_VARIABLES)


def usable(command: str, version: Version | None, exact_pulumi: bool = False) -> str | None:
    """Why this kind or Pulumi CLI is not the one the lab uses, or None when it is. Docker
    is used as found (the daemon's own check says whether it works). A student's Pulumi CLI
    may be any release from PULUMI_MINIMUM on; with `exact_pulumi` (in CI) only the pin is."""
    wanted_kind = kind_command_version(command)
    if command != "pulumi" and wanted_kind is None:
        return None
    if version is None:
        return "its version could not be read"
    if wanted_kind and version != parse_version(wanted_kind):
        return (
            f"the lab's node image is built for kind {wanted_kind}, "
            "and kind supports a node image only with the release it was built for"
        )
    if command == "pulumi" and not version.at_least(_parsed(PULUMI_MINIMUM)):
        return (
            f"it is older than v{PULUMI_MINIMUM}, the oldest Pulumi CLI whose engine the lab "
            "is checked against (k8s_lab/tools.py PULUMI_MINIMUM)"
        )
    if command == "pulumi" and exact_pulumi and version != _parsed(PULUMI_VERSION):
        return (
            f"in CI ({' or '.join(CI_VARIABLES)} is set) the Pulumi CLI must be the pinned v{PULUMI_VERSION}, "
            f"so that CI tests the engine the lab pins (students may keep any release from v{PULUMI_MINIMUM} on)"
        )
    return None


def _parsed(text: str) -> Version:
    version = parse_version(text)
    assert version is not None, text
    return version
