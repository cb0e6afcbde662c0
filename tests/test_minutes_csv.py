"""The per-minute SLI CSV: gaps stay gaps, the span is bounded, and every problem names
its file and line (never a traceback, never a silent zero)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.files import MAX_CSV_DAYS, read_markers_csv, read_minutes_csv
from slo.errors import InputError

T = 1_793_613_600  # a whole minute


def write(tmp_path, text: str | bytes, name: str = "data.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_an_empty_count_is_a_gap_not_zero_good_events(tmp_path):
    path = write(tmp_path, f"timestamp,good,total\n{T},990,1000\n{T + 60},,1000\n"
                           f"{T + 120},1000,\n{T + 180},995,1000\n")
    series = read_minutes_csv(path)
    assert len(series) == 4
    assert series.has_data.tolist() == [True, False, False, True]
    assert math.isnan(series.good[1]) and math.isnan(series.total[2])
    # No invented errors: only the two full minutes count, 15 bad events in all.
    assert np.nansum(series.total - series.good) == (1000 - 990) + (1000 - 995)


def test_a_millisecond_timestamp_is_named_as_such(tmp_path):
    path = write(tmp_path, f"timestamp,good,total\n{T},1,1\n{T * 1000 + 60_000},1,1\n")
    with pytest.raises(InputError) as caught:
        read_minutes_csv(path)
    message = str(caught.value)
    assert f"{path}:3: timestamp:" in message and "milliseconds" in message


def test_rows_years_apart_are_refused_before_any_array_is_made(tmp_path):
    far = T + 200 * 365 * 86_400
    path = write(tmp_path, f"timestamp,good,total\n{T},1,1\n{far},1,1\n")
    with pytest.raises(InputError) as caught:
        read_minutes_csv(path)
    message = str(caught.value)
    assert f"at most {MAX_CSV_DAYS} days" in message and "lines 2 and 3" in message
    assert f"{path}:3" in message
    ok = write(tmp_path, f"timestamp,good,total\n{T},1,1\n{T + 3 * 86_400},1,1\n", "ok.csv")
    assert len(read_minutes_csv(ok, max_days=3)) == 3 * 1440 + 1


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    path = write(tmp_path, b"timestamp,good,total\n" + f"{T},1,1\n".encode() + b"\xff\xfe,1,1\n")
    with pytest.raises(InputError) as caught:
        read_minutes_csv(path)
    assert str(caught.value).startswith(f"{path}:") and "not UTF-8" in str(caught.value)
    markers = write(tmp_path, b"name,start,end\n\xff,1,2\n", "markers.csv")
    with pytest.raises(InputError, match="not UTF-8"):
        read_markers_csv(markers)


@pytest.mark.parametrize("cell", ["nan", "inf", "-1", "1e400", "ten"])
def test_counts_must_be_finite_and_not_negative(tmp_path, cell):
    path = write(tmp_path, f"timestamp,good,total\n{T},1,{cell}\n")
    with pytest.raises(InputError) as caught:
        read_minutes_csv(path)
    assert f"{path}:2: total:" in str(caught.value)


def test_data_shorter_than_one_slice_is_one_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = tmp_path / "slo.yaml"
    spec.write_text((root / "slos" / "api-gateway.yaml").read_text().replace(
        "slice: 1m", "slice: 5m"))
    data = write(tmp_path, f"timestamp,good,total\n{T},1,1\n{T + 60},1,1\n")
    result = subprocess.run(
        [sys.executable, "-c", "from services.cli import main; main()", "slo", "report",
         "--spec", str(spec), "--slo", "api-gateway-latency-p95-minutes", "--data", str(data)],
        cwd=root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "2 minute(s) of data is shorter than one slice (5m)" in result.stderr


def test_a_text_file_past_the_limit_is_refused_before_it_is_read_whole(tmp_path):
    from services.files import read_text

    path = write(tmp_path, "x" * 2049, "big.yaml")
    with pytest.raises(InputError, match="larger than"):
        read_text(path, max_bytes=2048)
    assert read_text(path, max_bytes=4096) == "x" * 2049
    bad = write(tmp_path, b"a: 1\nb: 2\nc: \xff\n", "bad.yaml")
    with pytest.raises(InputError) as caught:
        read_text(bad)
    assert str(caught.value).startswith(f"{bad}:3:") and "not UTF-8" in str(caught.value)
