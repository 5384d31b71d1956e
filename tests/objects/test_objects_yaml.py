"""YAML loading with lines, and the manifest reader's document handling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpuplane.errors import InputError, Location, ManifestError
from gpuplane.objects import read_manifests, read_text
from gpuplane.objects.yaml_load import load_file, load_paths, load_text
from gpuplane.objects.yamlio import Field, YamlList, YamlMap, locate

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: main
    resources:
      limits:
        cpu: "1"
"""


def test_every_key_and_item_knows_its_line() -> None:
    text = "a: 1\nb:\n  c:\n  - x\n  - y: 2\n    z: 3\n"
    (doc,) = load_text(text, "f.yaml")
    assert isinstance(doc.body, YamlMap)
    assert doc.body.key_lines == {"a": 1, "b": 2}
    items = doc.body["b"]["c"]
    assert isinstance(items, YamlList)
    assert items.item_lines == [4, 5]
    assert locate(doc.body, ["b", "c", 1, "z"]) == 6
    assert locate(doc.body, ["b", "missing"]) is None
    assert doc.body == {"a": 1, "b": {"c": ["x", {"y": 2, "z": 3}]}}


def test_documents_keep_file_index_and_start_line_and_skip_nulls() -> None:
    text = "---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n"
    docs = load_text(text, "multi.yaml")
    assert [(d.file, d.index, d.line) for d in docs] == [("multi.yaml", 0, 2), ("multi.yaml", 3, 7)]
    assert docs[1].root().where == Location("multi.yaml", 7)


def test_embedded_text_is_located_in_its_file() -> None:
    (doc,) = load_text("x:\n  y: 1\n", "cm.yaml", first_line=10)
    assert doc.line == 10
    assert locate(doc.body, ["x", "y"]) == 11


def test_block_scalar_content_starts_below_its_indicator() -> None:
    (doc,) = load_text("data:\n  one: |\n    version: v1\n  two: plain\n")
    data = doc.root()["data"]
    assert data["one"].content_line == 3
    assert data["two"].content_line == 4


def test_malformed_yaml_names_file_line_and_problem_in_one_line() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   labels: {x: 1}\n"
    with pytest.raises(ManifestError) as err:
        load_text(text, "bad.yaml")
    first_line = str(err.value).splitlines()[0]
    assert first_line.startswith("bad.yaml:5: invalid YAML: mapping values are not allowed")


def test_unclosed_flow_mapping_is_located() -> None:
    # libyaml says "did not find expected ..."; PyYAML's pure parser said "expected ...".
    wording = r"^pod\.yaml:4: invalid YAML: (did not find )?expected ',' or '}'"
    with pytest.raises(ManifestError, match=wording):
        read_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a\nspec:\n", "pod.yaml")


def test_duplicate_keys_are_refused_but_merge_keys_may_be_overridden() -> None:
    with pytest.raises(ManifestError, match=r"d\.yaml:3: .*duplicate key 'a' \(first at line 1\)"):
        load_text("a: 1\nb: 2\na: 3\n", "d.yaml")
    (doc,) = load_text("base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 5\n")
    assert doc.body["child"] == {"x": 1, "y": 5}
    assert doc.body["child"].key_lines["y"] == 4


def test_python_tags_are_refused_by_the_safe_loader() -> None:
    with pytest.raises(ManifestError, match=r"evil\.yaml:1: invalid YAML"):
        load_text("a: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_a_document_must_be_a_mapping() -> None:
    with pytest.raises(ManifestError, match=r"l\.yaml:2: a document must be a mapping, got a list"):
        load_text("---\n- a\n- b\n", "l.yaml")


def test_field_accessors_say_where_and_what_to_do() -> None:
    (doc,) = load_text("labels:\n  tier: 3\nn: x\n", "f.yaml")
    root = doc.root()
    with pytest.raises(ManifestError) as err:
        root["labels"].string_map()
    assert (
        str(err.value)
        == 'f.yaml:2: labels.tier: must be a string, got the number 3\n  hint: quote it: "3"'
    )
    with pytest.raises(
        ManifestError, match=r"f\.yaml:3: n: must be an integer, got the string 'x'"
    ):
        root["n"].optional_integer()
    with pytest.raises(ManifestError, match=r"f\.yaml:3: n: must be a list"):
        root["n"].each()
    missing = root["spec"]["containers"]
    assert not missing.present and missing.each() == []
    assert missing.where == Location("f.yaml", 1, "spec.containers")


def test_non_string_keys_are_refused() -> None:
    (doc,) = load_text("labels:\n  1: a\n", "k.yaml")
    with pytest.raises(ManifestError, match=r"k\.yaml:2: labels: keys must be strings"):
        doc.root()["labels"].items()
    # YAML 1.1 reads an unquoted `on` as true: a classic trap worth a clear message.
    (doc,) = load_text("labels:\n  on: x\n", "k.yaml")
    with pytest.raises(
        ManifestError, match=r"k\.yaml:2: labels: keys must be strings, got the boolean true"
    ):
        doc.root()["labels"].items()


def test_a_field_is_a_plain_value_with_a_location() -> None:
    field = Field({"a": 1}, Location("x", 3, "spec"))
    assert field.present
    assert field.where_at(None) is field
    assert field.where_at(7).where == Location("x", 7, "spec")


def test_load_paths_walks_directories_sorted_and_refuses_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.yml").write_text("z: 1\n")
    (tmp_path / "b" / "a.yaml").write_text("a: 1\n")
    (tmp_path / "a.yaml").write_text("top: 1\n---\nsecond: 2\n")
    (tmp_path / "notes.txt").write_text("not: yaml\n")
    docs = load_paths([tmp_path])
    assert [(Path(d.file).relative_to(tmp_path).as_posix(), d.index) for d in docs] == [
        ("a.yaml", 0),
        ("a.yaml", 1),
        ("b/a.yaml", 0),
        ("b/z.yml", 0),
    ]
    flat = load_paths([tmp_path], recursive=False)
    assert [Path(d.file).name for d in flat] == ["a.yaml", "a.yaml"]
    with pytest.raises(InputError, match="no such file or directory") as err:
        load_paths([tmp_path / "nope.yaml"])
    assert "nope.yaml" in str(err.value)


def test_read_manifests_reads_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "pods").mkdir()
    (tmp_path / "pods" / "one.yaml").write_text(POD.format(name="one"))
    (tmp_path / "pods" / "two.yaml").write_text(POD.format(name="two"))
    single = tmp_path / "three.yaml"
    single.write_text(POD.format(name="three"))
    manifests = read_manifests([tmp_path / "pods", str(single)])
    assert [p.name for p in manifests.pods] == ["one", "two", "three"]
    assert manifests.pods[0].source == Location(str(tmp_path / "pods" / "one.yaml"), 1)
    assert manifests.workloads == manifests.pods


def test_list_kind_reads_its_items_with_located_paths() -> None:
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a}
  spec:
    containers: [{name: c}]
- apiVersion: v1
  kind: Pod
  metadata: {name: b}
  spec:
    containers:
    - name: c
      resources:
        limits: {nvidia.com/gpu: 0.5}
"""
    with pytest.raises(ManifestError) as err:
        read_text(text, "list.yaml")
    assert "list.yaml:16" in str(err.value)
    assert "items[1].spec.containers[0].resources.limits.nvidia.com/gpu" in str(err.value)
    good = read_text(text.replace("0.5", "1"), "list.yaml")
    assert [p.name for p in good.pods] == ["a", "b"]
    assert good.pods[1].source == Location("list.yaml", 9, "items[1]")


def test_unknown_kinds_and_non_objects_are_warned_about_and_skipped() -> None:
    text = (
        POD.format(name="a")
        + """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
just: data
"""
    )
    manifests = read_text(text, "mixed.yaml")
    assert [p.name for p in manifests.pods] == ["a"]
    assert manifests.warnings == [
        "mixed.yaml:12: Deployment (apps/v1) is not read by gpuplane; skipped",
        "mixed.yaml:16: no apiVersion and kind, so not a Kubernetes object; skipped",
    ]


def test_a_known_kind_in_another_api_version_is_an_error() -> None:
    text = "apiVersion: batch/v1beta1\nkind: Job\nmetadata: {name: j}\n"
    with pytest.raises(ManifestError, match=r"j\.yaml:1: apiVersion: gpuplane reads Job from"):
        read_text(text, "j.yaml")


def test_all_or_nothing_the_first_error_wins() -> None:
    bad = POD.format(name="b").replace('cpu: "1"', "cpu: lots")
    with pytest.raises(
        InputError, match=r"all\.yaml:21: spec\.containers\[0\]\.resources\.limits\.cpu"
    ):
        read_text(POD.format(name="a") + "---\n" + bad, "all.yaml")


def test_the_same_object_twice_is_refused() -> None:
    text = POD.format(name="a") + "---\n" + POD.format(name="a")
    with pytest.raises(
        ManifestError, match=r"p\.yaml:12: Pod default/a is defined twice \(first at p\.yaml:1\)"
    ):
        read_text(text, "p.yaml")


def test_empty_input_reads_nothing() -> None:
    manifests = read_text("", "empty.yaml")
    assert manifests.pods == [] and manifests.warnings == []


@pytest.mark.parametrize("depth", [101, 600, 100_000])
def test_input_nested_too_deeply_is_an_error_not_a_recursion_error(depth: int) -> None:
    text = "a: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ManifestError, match=r"^deep\.yaml:1: invalid YAML: .*nest"):
        load_text(text, "deep.yaml")
    load_text("a: " + "[" * 99 + "]" * 99 + "\n", "deep.yaml")  # the root map + 99 levels


def test_a_control_character_is_located_on_its_line() -> None:
    with pytest.raises(ManifestError, match=r"^ctl\.yaml:3: invalid YAML: control characters"):
        load_text("a: 1\nb: 2\nc: x\x07y\n", "ctl.yaml")


def test_a_file_over_the_size_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gpuplane.objects import yaml_load

    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2_000_000 + "\n")
    monkeypatch.setattr(yaml_load, "MAX_FILE_BYTES", 1024 * 1024)
    with pytest.raises(InputError, match=r"big\.yaml: is 2 MiB; YAML files are read up to 1 MiB"):
        yaml_load.load_file(path)


def test_progress_counts_every_byte_read_and_reports_along_the_way(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec: {containers: [{name: c}]}\n"
    for f in range(2):
        text = "---\n".join(pod % (f * 1200 + i) for i in range(1200))
        (tmp_path / f"p{f}.yaml").write_text(text)
    told: list[int] = []
    read = read_manifests([tmp_path], progress=told.append)
    assert len(read.pods) == 2400
    assert sum(told) == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert len(told) >= 6 and all(n >= 0 for n in told)  # 2 per file along the way, 1 at the end


def test_a_path_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nothing.yaml")
    reasons = {
        fifo: "is a named pipe, not a file",  # reading it would block for ever
        Path("/dev/null"): "is a device, not a file",
        tmp_path / "a.yaml": "is a symbolic link that loops",
        tmp_path / "dangling.yaml": "is a symbolic link to nothing",
        tmp_path / "missing.yaml": "no such file or directory",
    }
    for path, reason in reasons.items():
        with pytest.raises(InputError, match=f"^{re.escape(str(path))}: {reason}"):
            load_paths([path])
        with pytest.raises(InputError, match=f"^{re.escape(str(path))}: {reason}"):
            load_file(path)
