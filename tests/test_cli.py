"""The ``nnrs`` command line: ``nnrs info`` as text and JSON, in-process and as a module."""

import json
import os
import platform
import subprocess
import sys

import nnrs
import numpy as np
import pytest
from nnrs import _core, cli


def _expected():
    return {
        "version": _core.__version__,
        "backends": nnrs.backend.available(),
        "threads": _core.get_num_threads(),
        "simd": _core.simd_level(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def test_info_text(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    rows = dict(line.split(None, 1) for line in out.strip().splitlines())
    exp = _expected()
    assert rows["nnrs"] == exp["version"]
    assert rows["backends"] == ", ".join(exp["backends"])
    assert "numpy" in rows["backends"] and "cpu" in rows["backends"]
    assert rows["threads"] == str(exp["threads"])
    assert rows["simd"] == exp["simd"]
    assert rows["numpy"] == exp["numpy"]
    assert rows["python"] == exp["python"]


def test_info_json(capsys):
    assert cli.main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key, value in _expected().items():
        assert info[key] == value, key
    assert isinstance(info["threads"], int) and info["threads"] >= 1


def test_info_follows_thread_setting(capsys):
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        cli.main(["info", "--json"])
        assert json.loads(capsys.readouterr().out)["threads"] == 1
    finally:
        _core.set_num_threads(before)


def test_no_command_prints_usage(capsys):
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert "usage: nnrs" in err and "info" in err


def test_unknown_command_and_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["frobnicate"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"nnrs {_core.__version__}"


def test_a_registered_command_runs(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_COMMANDS", dict(cli._COMMANDS))

    @cli.command("hello", "say hello")
    def _hello(parser):
        parser.add_argument("--name", default="world")
        return lambda args: print(f"hello {args.name}") or 3

    assert cli.main(["hello", "--name", "nnrs"]) == 3
    assert capsys.readouterr().out == "hello nnrs\n"
    assert cli.main(["info"]) == 0  # the built-in command is still there


def test_python_dash_m(tmp_path):
    env = dict(os.environ)
    res = subprocess.run(
        [sys.executable, "-m", "nnrs.cli", "info", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["version"] == _core.__version__
    assert info["numpy"] == np.__version__
    res = subprocess.run([sys.executable, "-m", "nnrs.cli", "info"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("nnrs")
