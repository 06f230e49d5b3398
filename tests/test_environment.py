"""The conda environment.yml and pyproject.toml describe the same pinned environment."""

from __future__ import annotations

import re
import tomllib

import yaml


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(reqs) -> dict[str, str]:
    out = {}
    for r in reqs:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)\s*", r)
        assert m, f"requirement {r!r} is not pinned with =="
        out[_norm(m.group(1))] = m.group(2)
    return out


def test_environment_yml_matches_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    expected = _pins(project["dependencies"])
    for extra in ("book", "test"):
        expected.update(_pins(project["optional-dependencies"][extra]))

    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_section
    got = _pins([d for d in pip_section if not d.startswith("-e")])
    assert got == expected


def test_constraints_agree_with_direct_pins(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    direct = _pins(project["dependencies"])
    for extra in ("book", "test"):
        direct.update(_pins(project["optional-dependencies"][extra]))
    lines = [l for l in (repo_root / "constraints.txt").read_text().splitlines() if l and not l.startswith("#")]
    constraints = _pins(lines)
    for name, version in direct.items():
        assert constraints.get(name) == version, f"{name}: pyproject {version} vs constraints {constraints.get(name)}"
    assert constraints["torch"] == "2.13.0"
    assert "opencv-python" not in constraints  # would shadow contrib's cv2.optflow
