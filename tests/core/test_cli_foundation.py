"""`satseg demo-scene` and `satseg info`, and their one-line errors."""
import json
import subprocess
import sys

from desktop_app.cli import main

SATSEG = [sys.executable, "-m", "desktop_app.cli"]


def test_info_json_on_demo_scene(demo_dir, capsys):
    assert main(["info", str(demo_dir / "scene.tif"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["crs"] == "EPSG:32643" and info["width"] == 1000 and len(info["bands"]) == 12
    assert info["nodata_share"] == 0


def test_info_human_output_real_scene(shared_scene, capsys):
    assert main(["info", str(shared_scene)]) == 0
    out = capsys.readouterr().out
    assert "EPSG:32629" in out and "B8A" in out and "1098 x 1098" in out


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage")
    for args in (["info", str(tmp_path / "missing.tif")], ["info", str(bad)], ["info", str(tmp_path)]):
        p = subprocess.run(SATSEG + args, capture_output=True, text=True)
        assert p.returncode == 2, p
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("satseg: error:"), p.stderr
        assert "Traceback" not in p.stderr


def test_every_command_has_help():
    from desktop_app.cli import COMMAND_MODULES, build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) >= {"demo-scene", "info"}
    for name in sub.choices:
        p = subprocess.run(SATSEG + [name, "--help"], capture_output=True, text=True)
        assert p.returncode == 0 and "usage:" in p.stdout


def test_output_piped_into_a_reader_that_leaves_is_not_a_traceback(demo_dir):
    """`satseg info X | head -1`: the reader is gone before satseg writes; no traceback."""
    p = subprocess.Popen(SATSEG + ["info", str(demo_dir / "scene.tif")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader leaves before anything is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def _modules_after(args) -> set:
    code = ("import sys\nfrom desktop_app.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))" % (args,))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return set(p.stdout.split())


def test_help_lists_every_command_without_importing_any():
    """`satseg --help` must start at once: no command module and no numeric library is imported."""
    loaded = _modules_after(["--help"])
    heavy = {"numpy", "scipy", "rasterio", "shapely", "sklearn", "pyproj"} & loaded
    commands = {m for m in loaded if m.startswith("desktop_app.commands.")}
    assert heavy == set() and commands == set(), (heavy, commands)
    # A command's own help imports that command only.
    loaded = _modules_after(["info", "--help"])
    assert "desktop_app.commands.info" in loaded
    assert not {"desktop_app.commands.classify", "desktop_app.commands.fetch", "scipy"} & loaded


def test_json_and_warnings_helpers(capsys):
    import argparse

    from desktop_app.commands.common import JSON_HELP, add_json_argument, print_json, print_warnings

    p = argparse.ArgumentParser()
    add_json_argument(p)
    assert p._option_string_actions["--json"].help == JSON_HELP
    assert print_json(p.parse_args(["--json"]), {"a": [1, "é"], "warnings": ["w"]}) is True
    assert print_json(p.parse_args([]), {"a": 1}) is False
    print_warnings(["first", "second"])
    out, err = capsys.readouterr()
    assert json.loads(out) == {"a": [1, "é"], "warnings": ["w"]} and out.count("\n") == 1
    assert err == "warning: first\nwarning: second\n"
