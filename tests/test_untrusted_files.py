"""Untrusted files, URLs and uploads (security probe, issue 13 finding 6).

One test (or a few) per finding, each of which failed before the fix: paths outside the manifest's
folder, symlinks out of it, FIFOs and devices (which used to hang a load), missing files and folders,
oversize files and tables, an .xlsx zip bomb and an .ods repeat bomb, a URL that sends without end or
too slowly, deeply nested JSON and TOML (which printed a traceback), a source id that is a path, and
the upload folder. Every fixture is made here; the only network is 127.0.0.1.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from dashapp.cli import main
from loaders import Store, load_manifest, load_manifest_file
from loaders.errors import ConfigError, LimitError, ManifestError, PathNotAllowedError, ReadError
from loaders.limits import Limits
from loaders.readers import ReadOptions, open_table

REPO = Path(__file__).resolve().parents[1]
LIMIT_VARS = ("WHYTREND_ALLOWED_DIRS", "WHYTREND_MAX_FILE_MB", "WHYTREND_MAX_DOWNLOAD_MB", "WHYTREND_MAX_ROWS",
              "WHYTREND_MAX_COLUMNS", "WHYTREND_MAX_CELLS", "WHYTREND_MAX_CELL_CHARS", "WHYTREND_MAX_UNZIPPED_MB",
              "WHYTREND_MAX_ZIP_RATIO", "WHYTREND_MAX_ZIP_MEMBERS", "WHYTREND_MAX_ODS_MB", "WHYTREND_MAX_NESTING",
              "WHYTREND_HTTP_TIMEOUT", "WHYTREND_HTTP_DEADLINE")

HEAD = """
[[department]]
code = "HO"
name = "Home Office"

[[metric]]
code = "applications"
name = "Asylum applications"
department = "HO"
"""


def source(path: str = "", *, id: str = "apps", url: str = "", fmt: str = "", extra: str = "") -> str:
    where = f'url = "{url}"' if url else f"path = {json.dumps(path)}"
    form = f'format = "{fmt}"\n' if fmt else ""
    return (f'\n[[source]]\nid = {json.dumps(id)}\ndepartment = "HO"\n{where}\n{form}period_column = "Month"\n'
            f'area = "E92000001"\nmetric = "applications"\nvalue_column = "Applications"\n{extra}')


GOOD_CSV = "Month,Applications\n2024-01,10\n2024-02,12\n"


@pytest.fixture(autouse=True)
def default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the default limits and no allowed folders, whatever the environment."""
    for name in LIMIT_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The manifest's folder (tmp_path itself holds files outside it)."""
    path = tmp_path / "manifests"
    path.mkdir()
    return path


def write_manifest(folder: Path, *sources: str, name: str = "m.toml") -> Path:
    path = folder / name
    path.write_text(HEAD + "".join(sources))
    return path


def cli_in_process(*args: object) -> "object":
    """``whytrend ARGS`` in this process (an exception that escapes fails the test)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def cli(*args: object, env: dict[str, str] | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    """``whytrend ARGS`` in a subprocess, so a hang fails (TimeoutExpired) rather than blocks the suite,
    and stderr shows whether a traceback would reach the user."""
    environment = {k: v for k, v in os.environ.items() if k not in LIMIT_VARS} | (env or {})
    return subprocess.run([sys.executable, "-m", "dashapp.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=environment)


def assert_one_paragraph(result: subprocess.CompletedProcess, *needles: str) -> str:
    text = result.stdout + result.stderr
    assert result.returncode == 1, text
    assert "Traceback" not in text, text
    for needle in needles:
        assert needle in text, (needle, text)
    return text


# ------------------------------------------------------------------ paths outside the folder
def test_path_outside_the_manifest_folder_is_refused_and_allowed_with_allow_dir(tmp_path: Path, folder: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "apps.csv").write_text(GOOD_CSV)
    manifest = write_manifest(folder, source("../elsewhere/apps.csv"))
    db = tmp_path / "store.db"

    refused = cli_in_process("load", manifest, "--db", db, "--no-precompute")
    assert refused.exit_code == 1
    assert "source 'apps' (line" in refused.output and "path '../elsewhere/apps.csv' resolves to" in refused.output
    assert str((outside / "apps.csv").resolve()) in refused.output and "--allow-dir" in refused.output
    assert Store(db).loads_frame().empty

    allowed = cli_in_process("load", manifest, "--db", db, "--no-precompute", "--allow-dir", outside)
    assert allowed.exit_code == 0, allowed.output
    assert "loaded  apps: vintage 1" in allowed.output


def test_allowed_dirs_from_the_environment(tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "apps.csv").write_text(GOOD_CSV)
    manifest = write_manifest(folder, source(str(outside / "apps.csv")))
    with pytest.raises(PathNotAllowedError, match="WHYTREND_ALLOWED_DIRS"):
        load_manifest(manifest)
    monkeypatch.setenv("WHYTREND_ALLOWED_DIRS", os.pathsep.join([str(tmp_path / "other"), str(outside)]))
    assert load_manifest(manifest).sources[0].location == str((outside / "apps.csv").resolve())


def test_system_file_path_is_refused_before_anything_is_read(tmp_path: Path, folder: Path) -> None:
    # the probe's case: /etc/os-release ended up line by line in the quarantine table
    manifest = write_manifest(folder, source("/etc/os-release"))
    with pytest.raises(PathNotAllowedError) as excinfo:
        load_manifest(manifest)
    text = str(excinfo.value)
    assert "source 'apps'" in text and "'/etc/os-release'" in text and f"outside the manifest's folder {folder}" in text
    store = Store(tmp_path / "store.db")
    with pytest.raises(PathNotAllowedError):
        load_manifest_file(store, manifest)
    assert store.loads_frame().empty


def test_symlink_escaping_the_folder_is_refused(tmp_path: Path, folder: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text(GOOD_CSV)
    (folder / "apps.csv").symlink_to(secret)
    manifest = write_manifest(folder, source("apps.csv"))
    with pytest.raises(PathNotAllowedError, match=r"path 'apps.csv' resolves to .*secret\.csv, outside"):
        load_manifest(manifest)
    sub = folder / "sub"
    sub.mkdir()
    with pytest.raises(PathNotAllowedError, match=r"path 'sub/../../secret.csv' resolves to"):
        load_manifest(write_manifest(folder, source("sub/../../secret.csv"), name="dots.toml"))


def test_symlink_changed_after_the_manifest_check_is_refused_at_load(tmp_path: Path, folder: Path) -> None:
    inside = folder / "real.csv"
    inside.write_text(GOOD_CSV)
    (folder / "apps.csv").symlink_to(inside)
    manifest = load_manifest(write_manifest(folder, source("apps.csv")))  # fine now
    (folder / "apps.csv").unlink()
    (tmp_path / "secret.csv").write_text(GOOD_CSV)
    (folder / "apps.csv").symlink_to(tmp_path / "secret.csv")
    store = Store(tmp_path / "store.db")
    (outcome,) = load_manifest_file(store, manifest)
    assert outcome.status == "failed" and "resolves to" in outcome.message and "Nothing was read" in outcome.message
    assert store.loads_frame().empty


# ------------------------------------------------------------------ only regular files
def test_fifo_is_refused_at_once_through_the_cli(tmp_path: Path, folder: Path) -> None:
    os.mkfifo(folder / "apps.csv")
    manifest = write_manifest(folder, source("apps.csv"))
    started = time.monotonic()
    result = cli("load", manifest, "--db", tmp_path / "store.db", "--no-precompute")  # used to hang
    assert time.monotonic() - started < 15
    assert_one_paragraph(result, "FAILED  apps:", "is a named pipe (FIFO), not a regular file",
                         str((folder / "apps.csv").resolve()), "Save the data to a file")


def test_fifo_and_device_refused_within_a_second_in_process(folder: Path) -> None:
    os.mkfifo(folder / "pipe.csv")
    outcome: dict[str, object] = {}

    def attempt(location: str) -> None:
        try:
            open_table(location, ReadOptions(format="csv"))
        except ReadError as exc:
            outcome[location] = exc

    for location in (str(folder / "pipe.csv"), "/dev/zero"):
        worker = threading.Thread(target=attempt, args=(location,), daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), f"reading {location} hangs"
        assert time.monotonic() - started < 1.0
        assert "not a regular file" in str(outcome[location])
    assert "character device" in str(outcome["/dev/zero"])


def test_dev_zero_is_refused_through_the_cli(tmp_path: Path, folder: Path) -> None:
    manifest = write_manifest(folder, source("/dev/zero"))
    result = cli("load", manifest, "--db", tmp_path / "store.db", "--no-precompute", "--allow-dir", "/dev")
    assert_one_paragraph(result, "/dev/zero is a character device, not a regular file")


def test_fifo_as_the_manifest_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "m.toml")
    result = cli("load", tmp_path / "m.toml", "--db", tmp_path / "store.db")
    assert_one_paragraph(result, "Manifest", "is a named pipe (FIFO)")


def test_missing_file_and_folder_give_one_paragraph(tmp_path: Path, folder: Path) -> None:
    (folder / "data").mkdir()
    manifest = write_manifest(folder, source("nope.csv"), source("data", id="folder", fmt="csv"))
    result = cli_in_process("load", manifest, "--db", tmp_path / "store.db", "--no-precompute")
    assert result.exit_code == 1
    assert f"File not found: {folder / 'nope.csv'} (given as '{folder / 'nope.csv'}'). Check the path" in result.output
    assert f"{folder / 'data'} is a folder, not a file. Give the path of the data file itself." in result.output
    assert "2 of 2 sources failed" in result.output


# ------------------------------------------------------------------ sizes, rows, columns, cells
def test_oversize_file_is_refused(tmp_path: Path, folder: Path) -> None:
    (folder / "apps.csv").write_text(GOOD_CSV + "2024-03,13\n" * 300)  # ~3 KB
    manifest = write_manifest(folder, source("apps.csv"))
    result = cli("load", manifest, "--db", tmp_path / "store.db", "--no-precompute",
                 env={"WHYTREND_MAX_FILE_MB": "0.001"})
    assert_one_paragraph(result, str((folder / "apps.csv").resolve()), "over the limit of 0.001 MB for one file",
                         "WHYTREND_MAX_FILE_MB")
    assert Store(tmp_path / "store.db").loads_frame().empty


def test_bad_limit_setting_is_one_paragraph(tmp_path: Path, folder: Path) -> None:
    with pytest.raises(ConfigError, match=r"WHYTREND_MAX_ROWS = 'lots' is not a positive whole number"):
        Limits.from_env({"WHYTREND_MAX_ROWS": "lots"})
    assert Limits.from_env({"WHYTREND_MAX_FILE_MB": "2.5", "WHYTREND_MAX_ROWS": "1_000"}) == Limits(
        max_file_mb=2.5, max_rows=1000)


def test_row_of_millions_of_cells_is_refused_without_building_it(tmp_path: Path) -> None:
    # the shape of the 16.9 MB upload that took a worker to 3.5 GB: one row of millions of empty cells
    path = tmp_path / "wide.csv"
    path.write_text("Month,Applications\n2024-01,10" + "," * 3_000_000 + "\n")
    started = time.monotonic()
    with pytest.raises(LimitError) as excinfo:
        open_table(path, ReadOptions(format="csv"))
    assert time.monotonic() - started < 5
    assert str(excinfo.value).startswith(f"Row 2 of {path} has 3,000,002 cells (separated by ','), over the limit "
                                         "of 16,384 columns.")
    assert "WHYTREND_MAX_COLUMNS" in str(excinfo.value)


def test_rows_and_cell_length_limits(tmp_path: Path) -> None:
    many = tmp_path / "many.csv"
    many.write_text("Month,Applications\n" + "2024-01,1\n" * 50)
    with pytest.raises(LimitError, match=r"has about 50 rows below its header, over the limit of 10 rows.*"
                                         r"WHYTREND_MAX_ROWS"):
        open_table(many, ReadOptions(format="csv", limits=Limits(max_rows=10)))
    long = tmp_path / "long.csv"
    long.write_text("Month,Applications\n" + "2024-01,1\n" * 1500 + "2024-02," + "9" * 500 + "\n")
    info, chunks = open_table(long, ReadOptions(format="csv", limits=Limits(max_cell_chars=100)))
    with pytest.raises(LimitError, match=r"Row 1502, column 'Applications' of .*long\.csv holds 500 characters, "
                                         r"over the limit of 100 .*WHYTREND_MAX_CELL_CHARS"):
        list(chunks)
    book = tmp_path / "many.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["Month", "Applications"])
    for _ in range(30):
        wb.active.append(["2024-01", 1])
    wb.save(book)
    with pytest.raises(LimitError, match=r"more than 10 rows \(stopped at row 11\).*WHYTREND_MAX_ROWS"):
        open_table(book, ReadOptions(format="xlsx", limits=Limits(max_rows=10)))
    records = tmp_path / "records.json"
    records.write_text(json.dumps([{"Month": "2024-01", "Applications": "x" * 50}]))
    with pytest.raises(LimitError, match=r"Row 1, column 2 of .*records\.json holds 50 characters"):
        open_table(records, ReadOptions(format="json", limits=Limits(max_cell_chars=20)))


# ------------------------------------------------------------------ zip bombs
def xlsx_bomb(path: Path, unpacked_mb: int) -> Path:
    """A real workbook whose sheet XML is padded with ``unpacked_mb`` MB of spaces (compresses ~1000x)."""
    book = openpyxl.Workbook()
    book.active.append(["Month", "Applications"])
    book.active.append(["2024-01", 1])
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    block = b" " * (1 << 20)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(item, data)
                continue
            info = zipfile.ZipInfo(item.filename, date_time=item.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(info, "w", force_zip64=True) as member:
                head, tail = data.split(b"<sheetData>", 1)
                member.write(head + b"<sheetData>")
                for _ in range(unpacked_mb):
                    member.write(block)
                member.write(tail)
    return path


def test_xlsx_zip_bomb_is_refused_before_openpyxl_opens_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = xlsx_bomb(tmp_path / "bomb.xlsx", 64)
    assert bomb.stat().st_size < 1_000_000  # small on disk, 64 MB of XML unpacked
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl unpacked the bomb"))
    started = time.monotonic()
    with pytest.raises(LimitError) as excinfo:
        open_table(bomb, ReadOptions(format="xlsx"))
    assert time.monotonic() - started < 1.0
    text = str(excinfo.value)
    assert f"Part 'xl/worksheets/sheet1.xml' of {bomb} expands" in text and "over the limit of 200 times" in text
    assert "WHYTREND_MAX_ZIP_RATIO" in text


def test_unpacked_size_limit(tmp_path: Path) -> None:
    bomb = xlsx_bomb(tmp_path / "big.xlsx", 3)
    with pytest.raises(LimitError, match=r"would unpack to 3\.\d MB, over the limit of 2 MB .*WHYTREND_MAX_UNZIPPED_MB"):
        open_table(bomb, ReadOptions(format="xlsx", limits=Limits(max_unzipped_mb=2, max_zip_ratio=1e9)))


def test_ods_repeat_bomb_is_refused(tmp_path: Path) -> None:
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    text = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}" '
               f'xmlns:table="{table}" xmlns:text="{text}"><office:body><office:spreadsheet>'
               '<table:table table:name="Sheet1"><table:table-row table:number-rows-repeated="1000000">'
               '<table:table-cell table:number-columns-repeated="10000" office:value-type="float" office:value="1">'
               '<text:p>1</text:p></table:table-cell></table:table-row></table:table>'
               '</office:spreadsheet></office:body></office:document-content>')
    path = tmp_path / "bomb.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
    started = time.monotonic()
    with pytest.raises(LimitError, match=r"Sheet1\) expands to 1,000,000 rows of 10,000 cells or more.*"
                                         r"WHYTREND_MAX_CELLS"):
        open_table(path, ReadOptions(format="ods"))
    assert time.monotonic() - started < 1.0


# ------------------------------------------------------------------ URLs
class Endless(BaseHTTPRequestHandler):
    """/endless: 64 KB blocks without end; /big: announces 50 MB; /trickle: a byte every 50 ms;
    /sleep: answers after 30 s; /deep: JSON nested 100,000 levels."""

    stop = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        try:
            if self.path == "/deep":
                body = b"[" * 100_000 + b"]" * 100_000
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path == "/sleep":
                if self.stop.wait(30):
                    return
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            if self.path == "/big":
                self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"Month,Applications\n")
            while not self.stop.is_set():
                if self.path == "/trickle":
                    self.wfile.write(b"2")
                    self.wfile.flush()
                    time.sleep(0.05)
                else:
                    self.wfile.write(b"2024-01,1\n" * 6554)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Endless.stop.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Endless.stop.set()
    httpd.shutdown()
    httpd.server_close()


def test_download_stops_at_the_cap(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(LimitError) as excinfo:
        open_table(server + "/endless", ReadOptions(format="csv", limits=Limits(max_download_mb=1)))
    assert time.monotonic() - started < 5
    text = str(excinfo.value)
    assert text.startswith(f"GET {server}/endless stopped after 1.")
    assert f"MB: {server}/endless sends more than 1 MB, the download limit for one URL source" in text
    assert "WHYTREND_MAX_DOWNLOAD_MB" in text
    with pytest.raises(LimitError, match=r"/big announced 50\.0 MB: .* sends more than 1 MB"):
        open_table(server + "/big", ReadOptions(format="csv", limits=Limits(max_download_mb=1)))


def test_slow_url_hits_the_deadline_and_a_silent_one_the_timeout(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(LimitError, match=r"took more than 1 s in all, the limit for one URL source.*"
                                         r"WHYTREND_HTTP_DEADLINE"):
        open_table(server + "/trickle", ReadOptions(format="csv", limits=Limits(http_timeout_s=5, http_deadline_s=1)))
    assert time.monotonic() - started < 4
    started = time.monotonic()
    with pytest.raises(ReadError, match=r"timed out after 0\.3 s\. .*WHYTREND_HTTP_TIMEOUT"):
        open_table(server + "/sleep", ReadOptions(format="csv", limits=Limits(http_timeout_s=0.3)))
    assert time.monotonic() - started < 3


def test_deep_json_from_an_api_is_one_paragraph_through_the_cli(tmp_path: Path, folder: Path, server: str) -> None:
    manifest = write_manifest(folder, source(url=server + "/deep", fmt="json"))
    result = cli("load", manifest, "--db", tmp_path / "store.db", "--no-precompute")
    assert_one_paragraph(result, f"The response from {server}/deep nests lists or objects hundreds of levels deep",
                         "WHYTREND_MAX_NESTING", "1 of 1 source failed")


# ------------------------------------------------------------------ nesting
def test_deep_json_file_is_one_paragraph_through_the_cli(tmp_path: Path, folder: Path) -> None:
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "mid.json").write_text("[" * 200 + "]" * 200)  # parseable, still too deep
    manifest = write_manifest(folder, source("deep.json"), source("mid.json", id="mid"))
    result = cli("load", manifest, "--db", tmp_path / "store.db", "--no-precompute")
    text = assert_one_paragraph(result, "deep.json nests lists or objects hundreds of levels deep",
                                "mid.json nests lists or objects more than 64 levels deep", "WHYTREND_MAX_NESTING")
    assert "RecursionError" not in text


@pytest.mark.parametrize("depth", [100_000, 100])
def test_deep_toml_is_one_paragraph_through_the_cli(tmp_path: Path, folder: Path, depth: int) -> None:
    manifest = folder / "deep.toml"
    manifest.write_text(HEAD + "\n[[event]]\nperiod = \"2024-01\"\ntitle = \"x\"\nmetrics = "
                        + "[" * depth + "]" * depth + "\n")
    result = cli("load", manifest, "--db", tmp_path / "store.db")
    text = assert_one_paragraph(result, f"{manifest} nests arrays or inline tables", "WHYTREND_MAX_NESTING")
    assert "RecursionError" not in text and text.count("\n") <= 2


# ------------------------------------------------------------------ source ids and uploads
@pytest.mark.parametrize("bad", ["/tmp/evil", "../up", ".hidden", "a/b", "a\\b", "x" * 129, "sp ace"])
def test_source_id_must_be_a_simple_name(folder: Path, bad: str) -> None:
    (folder / "apps.csv").write_text(GOOD_CSV)
    with pytest.raises(ManifestError, match=r"source id .* \(line \d+\) must be a simple name"):
        load_manifest(write_manifest(folder, source("apps.csv", id=bad)))


def test_simple_source_ids_pass(folder: Path) -> None:
    (folder / "apps.csv").write_text(GOOD_CSV)
    manifest = load_manifest(write_manifest(folder, source("apps.csv", id="ho-apps_v2.1"),
                                            source("apps.csv", id="x" * 128)))
    assert [s.id for s in manifest.sources] == ["ho-apps_v2.1", "x" * 128]


@pytest.fixture
def upload_page(tmp_path: Path):
    """The Data page module with a configured app (a tiny store with one source)."""
    from dashapp import create_app
    from dashapp.settings import Settings

    folder = tmp_path / "upload-src"
    folder.mkdir()
    (folder / "apps.csv").write_text(GOOD_CSV)
    manifest = write_manifest(folder, source("apps.csv"))
    store = Store(tmp_path / "upload.db")
    assert [o.status for o in load_manifest_file(store, manifest)] == ["loaded"]
    app = create_app(Settings(db=store.url, cache_dir=tmp_path / "cache", secret_key="u" * 48, max_upload_mb=1))
    with app.server.test_request_context("/"):
        yield sys.modules["dashapp.pages.data"], load_manifest(manifest).sources[0], tmp_path / "cache" / "uploads"


def data_url(content: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(content).decode()


def test_upload_is_saved_under_a_generated_name_inside_the_upload_folder(upload_page, tmp_path: Path) -> None:
    data, _, uploads = upload_page
    path = data.save_upload(data_url(GOOD_CSV.encode()), ".csv")
    assert path.name == "upload.csv" and path.resolve().parent.parent == uploads.resolve()
    assert path.read_text() == GOOD_CSV
    token = path.parent.name
    assert data.checked_file({"token": token, "file": "upload.csv"}) == path
    (tmp_path / "secret.csv").write_text("secret")
    (path.parent / "upload.json").symlink_to(tmp_path / "secret.csv")
    for forged in ({"token": token, "file": "/etc/passwd"}, {"token": token, "file": "../../x.csv"},
                   {"token": "../" + token, "file": "upload.csv"}, {"token": token, "file": "upload.json"},
                   {"token": token, "file": "apps.csv"}):
        assert data.checked_file(forged) is None, forged
    with pytest.raises(ReadError, match="must be CSV"):
        data.save_upload(data_url(b"x"), "/../../etc/x")
    assert sorted(p.name for p in uploads.rglob("*") if p.is_file() and not p.is_symlink()) == ["upload.csv"]


def test_oversize_upload_is_refused_before_decoding(upload_page, monkeypatch: pytest.MonkeyPatch) -> None:
    data, _, uploads = upload_page
    content = data_url(b"Month,Applications\n" + b"2024-01,1\n" * 120_000)  # ~1.2 MB; the app allows 1 MB
    assert data.upload_size(content) == len(b"Month,Applications\n" + b"2024-01,1\n" * 120_000)
    monkeypatch.setattr(data.base64, "b64decode", lambda *a, **k: pytest.fail("decoded an oversize upload"))
    with pytest.raises(LimitError, match=r"big\.csv is 1\.1 MB, over the upload limit of 1 MB; nothing was saved"):
        data.check_upload_size(content, "big.csv")
    monkeypatch.setenv("WHYTREND_MAX_FILE_MB", "0.01")
    with pytest.raises(LimitError, match="over the upload limit of 0.01 MB"):
        data.check_upload_size(data_url(GOOD_CSV.encode() * 500), "small.csv")
    assert not any(p.is_file() for p in uploads.rglob("*"))


def test_upload_preview_applies_the_same_limits(upload_page) -> None:
    data, apps, _ = upload_page
    path = data.save_upload(data_url(b"Month,Applications\n2024-01,1" + b"," * 100_000 + b"\n"), ".csv")
    view, ok = data.preview_view(apps, path, "wide.csv")
    assert not ok
    assert "Row 2 of wide.csv has 100,002 cells" in str(view) and str(path) not in str(view)
